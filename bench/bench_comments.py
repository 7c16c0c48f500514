"""Public comments at scale: import 10^5 comments end to end — `juece comments import` in its own process (start-up
included: validate, group exact duplicates, store durably, cluster near-duplicates, record the event), then the same
use case in this process for its phases — on fresh temporary workspaces (real SQLite, WAL, synchronous=FULL); and the
near-duplicate clustering alone.

The comments are generated, seeded, from a small Chinese vocabulary about a shantytown renovation: about 70 % written
by individuals (sentences drawn from topic phrase lists) and about 30 % from a handful of form-letter campaigns, each
copy varied the way real campaigns vary — the signer's name, added or changed punctuation, full-width vs half-width
digits and letters, a sentence added, line breaks. About 2 % arrive after the deadline. Timestamps come with a zone,
with `Z`, or without one (Beijing time).

Targets (issues 13 and earlier): import end to end, clustering included, ≥ 50,000 comments/s; near-duplicate clustering of 10^5 comments < 10 s. The script also
checks the clustering against the generator's truth (campaign copies that landed in their campaign's main cluster,
individual comments put in a campaign's cluster), both for the clusters each import stored and for the standalone
clustering, and against exact 3-gram Jaccard on a sample of the grouped
comments, so speed is never bought with wrong answers.

    .venv/bin/python bench/bench_comments.py [--n 100000] [--seed 7] [--runs 3] [--format jsonl|csv]
"""

from __future__ import annotations

import argparse
import csv
import gc
import hashlib
import json
import os
import resource
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from support import CLERK, Driver, new_workspace  # noqa: E402

from flows.usecases.workspace import Workspace  # noqa: E402

from flows.adapters.similarity import _key_table, matching_keys, near_duplicate_pairs, near_duplicate_roots  # noqa: E402
from flows.usecases.comments import import_comments  # noqa: E402

IMPORT_TARGET = 50_000  # comments/s
CLUSTER_TARGET_S = 10.0
BEIJING = timezone(timedelta(hours=8))

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任卢姚沈钟姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝顾龚邵万覃武钱戴严莫孔向常汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红志强建华建国文海波春梅金凤国庆淑珍德明海燕宏伟晓东丽华玉梅"
OPENERS = ["我是河西片区的居民，", "本人", "我们小区的住户", "作为一名在三亚生活了二十年的市民，我", "我家三代都住在这里，",
           "我是附近学校的老师，", "我在片区内经营一家小店，", "作为被征收户，我", "我", "我们"]
TOPICS = {
    "补偿": ["认为货币补偿标准偏低", "希望评估价格参考周边二手房成交价", "建议补偿系数提高到1.2", "要求公开评估机构的选定过程",
            "希望对经营性用房单独给予停产停业损失补偿", "认为装修补偿没有考虑实际投入"],
    "安置": ["希望安置房选址离学校近一些", "建议安置房按期交付并写入合同", "担心过渡期太长租房困难", "要求过渡期租金补贴按月足额发放",
            "希望就近安置不要迁到郊区", "建议安置房户型增加三房"],
    "交通": ["担心施工期间交通拥堵", "建议夜间施工时避开居民休息时间", "希望增设临时公交站点", "要求渣土车按规定路线行驶",
            "建议在学校门口设置护栏和减速带"],
    "环境": ["希望控制施工扬尘和噪音", "建议保留片区内的老榕树", "要求增加绿化面积和儿童活动场地", "希望建设雨污分流管网",
            "担心改造后排水不畅雨季内涝"],
    "程序": ["希望延长征求意见的时间", "建议召开听证会听取被征收户意见", "要求公开社会稳定风险评估报告", "希望每户都能收到书面通知",
            "建议设立现场接待点解答群众疑问"],
    "其他": ["支持棚户区改造，希望尽快实施", "希望照顾老人和残疾人的出行", "建议配建社区医院和菜市场", "希望保留骑楼老街的历史风貌",
            "要求对困难家庭给予额外帮扶"],
}
CLOSERS = ["。", "，请政府认真考虑。", "，谢谢！", "。以上意见供参考。", "，望采纳。", "！"]

CAMPAIGNS = [
    "尊敬的三亚市住房和城乡建设局：我们是河西片区棚户区改造范围内的被征收户。我们支持改造，但认为《实施方案（征求意见稿）》"
    "规定的货币补偿标准明显低于周边同类房屋的市场价格，评估时点和评估方法也没有向群众说明。为此我们联名提出以下意见：一、货币补偿"
    "应以周边近六个月二手房成交均价为基础，补偿系数不低于1.2；二、评估机构应由被征收户投票选定，评估报告逐户公示；三、过渡期租金"
    "补贴按每月每平方米30元足额发放，过渡期超过24个月的加倍发放。恳请采纳。联名人：{name}，{date}",
    "关于河西片区改造方案的意见：本人坚决要求原地回迁。河西片区是我们祖辈生活的地方，邻里关系、孩子上学、老人就医都在这里。"
    "如果安置到城郊，我们的生活将受到很大影响。请政府在规划中预留足够的回迁安置用地，并在方案中明确回迁的时间表。{name}",
    "我反对在片区东侧新建垃圾中转站。中转站距离河西小学和居民楼不足一百米，会带来臭味、蚊蝇和噪音，影响师生和居民的身体健康。"
    "建议将中转站迁至规划的工业用地内，并采用全封闭设计。请有关部门慎重考虑。签名：{name}",
    "建议在改造方案中增加社区养老服务中心。片区内六十岁以上老人占三分之一以上，很多是独居老人，日常照料和就医都很不方便。"
    "希望新建小区配建不少于一千平方米的养老服务用房，并引入专业机构运营，提供助餐、助浴、日间照料等服务。居民{name}",
    "关于停车位的意见：现方案每户配建0.8个停车位，远低于实际需要，片区现有私家车已超过每户一辆。请按每户不少于1.2个车位配建，"
    "并建设充电桩，同时规划公共停车场，解决周边商铺顾客停车难的问题。{name} 敬上",
    "我们是骑楼老街的商户，请求在改造中保留骑楼街的历史风貌和原有商业格局。骑楼是三亚的城市记忆，拆除后无法恢复。建议采取微改造"
    "方式，对危房进行加固修缮，同时对经营户给予停业期间的损失补偿和租金减免。商户代表：{name}",
]
CHANNELS = ["政府网站", "电子邮件", "信函", "政务新媒体", "12345热线", "现场接待点"]
FULL_WIDTH = str.maketrans("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", "０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ")


def person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def individual(rng: random.Random) -> str:
    parts = [rng.choice(OPENERS)]
    for topic in rng.sample(list(TOPICS), rng.randint(1, 4)):
        phrases = rng.sample(TOPICS[topic], rng.randint(1, 3))
        parts.append("，".join(phrases) + rng.choice(CLOSERS))
    return "".join(parts)


def campaign_copy(rng: random.Random, template: str, moment: datetime) -> str:
    text = template.format(name=person(rng), date=f"{moment.year}年{moment.month}月{moment.day}日")
    roll = rng.random()
    if roll < 0.25:
        text = text.translate(FULL_WIDTH)
    elif roll < 0.45:
        text = text.replace("，", ",").replace("：", ":").replace("；", ";")
    elif roll < 0.60:
        text = text.replace("。", "！")
    elif roll < 0.70:
        text = text.replace("。", "。\n")
    if rng.random() < 0.2:
        text += rng.choice(["另外，希望尽快公布方案修改情况。", "请给予答复。", "此致敬礼！"])
    return text


def moment(rng: random.Random, late: bool) -> str:
    opened = datetime(2025, 9, 1, 9, 0, tzinfo=BEIJING)
    day = timedelta(days=rng.randint(39, 45) if late else rng.randint(0, 38), seconds=rng.randint(0, 86399))
    t = opened + day
    style = rng.random()
    if style < 0.6:
        return t.isoformat(timespec="seconds")
    if style < 0.9:
        return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return t.replace(tzinfo=None).isoformat(sep=" ", timespec="minutes")


def generate(n: int, seed: int) -> tuple[list[dict[str, str]], list[int]]:
    """n comment rows and, for each, its campaign number (−1 for an individual comment)."""
    rng = random.Random(seed)
    rows, truth = [], []
    for _ in range(n):
        late = rng.random() < 0.02
        stamp = moment(rng, late)
        if rng.random() < 0.30:
            c = rng.randrange(len(CAMPAIGNS))
            text = campaign_copy(rng, CAMPAIGNS[c], datetime.fromisoformat(stamp.replace("Z", "+00:00")))
        else:
            c, text = -1, individual(rng)
        author = "" if rng.random() < 0.1 else person(rng)
        rows.append({"submitted_at": stamp, "channel": rng.choice(CHANNELS), "author": author, "text": text})
        truth.append(c)
    return rows, truth


def shingles(key: str) -> set[str]:
    return {key[i : i + 3] for i in range(max(len(key) - 2, 1))}


def quality(texts: list[str], truth: list[int], roots: list[int], seed: int) -> dict[str, float]:
    """The clustering checked against the generator's truth and against exact Jaccard similarity."""
    main = {}
    for c in set(truth) - {-1}:
        main[c] = Counter(r for r, t in zip(roots, truth) if t == c).most_common(1)[0][0]
    copies = [i for i, t in enumerate(truth) if t != -1]
    recalled = sum(1 for i in copies if roots[i] == main[truth[i]]) / max(len(copies), 1)
    campaign_roots = set(main.values())
    into_campaign = sum(1 for i, t in enumerate(truth) if t == -1 and roots[i] in campaign_roots)
    # Precision: comments grouped with a different text, against the text their cluster is named after.
    keys = matching_keys(texts)
    grouped = [i for i, r in enumerate(roots) if keys[i] != keys[r]]
    sample = random.Random(seed).sample(grouped, min(2000, len(grouped)))
    sims = sorted(
        len(shingles(keys[i]) & shingles(keys[roots[i]])) / len(shingles(keys[i]) | shingles(keys[roots[i]]))
        for i in sample
    )
    # Each accepted pair (sketch estimate ≥ 0.8) against its exact Jaccard.
    unique = list(dict.fromkeys(keys))
    a, b = near_duplicate_pairs(unique)
    picked = random.Random(seed + 1).sample(range(len(a)), min(3000, len(a)))
    edges = sorted(
        len(shingles(unique[a[i]]) & shingles(unique[b[i]])) / len(shingles(unique[a[i]]) | shingles(unique[b[i]]))
        for i in picked
    )
    return {
        "edges": len(a),
        "edge_p1": edges[len(edges) // 100] if edges else 1.0,
        "edge_below_075": sum(1 for x in edges if x < 0.75) / max(len(edges), 1),
        "recall": recalled,
        "into_campaign": into_campaign,
        "grouped": len(grouped),
        "sim_median": statistics.median(sims) if sims else 1.0,
        "sim_p5": sims[len(sims) // 20] if sims else 1.0,
        "sim_below_06": sum(1 for x in sims if x < 0.6) / max(len(sims), 1),
    }


def write_file(rows: list[dict[str, str]], path: Path) -> Path:
    if path.suffix == ".csv":
        with path.open("w", encoding="utf-8", newline="") as f:
            out = csv.writer(f)
            out.writerow(["submitted_at", "channel", "author", "text"])
            out.writerows([r["submitted_at"], r["channel"], r["author"], r["text"]] for r in rows)
    else:
        path.write_bytes(b"\n".join(orjson.dumps(r) for r in rows) + b"\n")
    return path


def juece_import(home: Path, case_id: str, path: Path) -> tuple[float, float, dict[str, int]]:
    """`juece comments import` as its own process, process start-up included: wall seconds, CPU seconds (user +
    system of the child), and its JSON."""
    exe = Path(sys.executable).with_name("juece")
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUECE_")}
    cmd = [str(exe), "--home", str(home), "--as", f"{CLERK.role}:{CLERK.name}", "comments", "import", case_id, str(path),
           "--json"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, env=env, timeout=600)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert proc.returncode == 0, proc.stderr.decode()
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, orjson.loads(proc.stdout)


def _children_cpu() -> float:
    """User + system CPU seconds of this process's children that have ended."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def stored_roots(ws: Workspace, case_id: str, texts: list[str]) -> list[int]:
    """The clusters the import stored, as `quality` takes them: for each generated comment, the index of the first
    comment stored in its cluster (matched through its norm hash, so an exact duplicate stored once counts too)."""
    from models import comments as db
    from models.db import read_transaction

    with read_transaction(ws.engine) as conn:
        stored = db.case_comment_rows(conn, case_id)  # (id, import_id, line, …, norm_hash, row_hash, late, cluster)
    cluster_of = {r[7]: r[10] for r in stored}
    hashes = [hashlib.sha256(k.encode()).hexdigest() for k in matching_keys(texts)]
    first: dict[int, int] = {}
    roots = []
    for i, h in enumerate(hashes):
        roots.append(first.setdefault(cluster_of[h], i))
    return roots


def run_once(n: int, seed: int, tmp: Path, fmt: str) -> dict[str, float]:
    rows, truth = generate(n, seed)
    path = write_file(rows, tmp / f"comments-{seed}.{fmt}")
    # 1. The command itself, in its own process: what `juece comments import` costs end to end.
    home = tmp / f"ws-cli-{seed}"
    case = Driver(new_workspace(home))
    case.launch("risk-relevant", "technical")
    case.record("consultation-opened")
    cli_wall, cli_cpu, out = juece_import(home, case.case_id, path)
    assert out["rows"] == n and 0 < out["new_rows"] <= n and out["seq"], out
    # 2. The use case the command calls, in this process (modules already imported, the key table not built), for
    # the phases and the re-import; the clusters it stored are checked against the generator's truth.
    _key_table.cache_clear()
    ws = new_workspace(tmp / f"ws-{seed}")
    case = Driver(ws)
    case.launch("risk-relevant", "technical")
    case.record("consultation-opened")
    cpu = time.process_time() + _children_cpu()  # with the second process a large first import starts
    start = time.perf_counter()
    result = import_comments(ws, CLERK, case.case_id, path)
    wall = time.perf_counter() - start
    cpu = time.process_time() + _children_cpu() - cpu
    assert result.rows == n and 0 < result.new_rows <= n
    assert (result.new_rows, result.clusters_total) == (out["new_rows"], out["clusters_total"]), (result, out)
    q = quality([r["text"] for r in rows], truth, stored_roots(ws, case.case_id, [r["text"] for r in rows]), seed)
    start = time.perf_counter()
    again = import_comments(ws, CLERK, case.case_id, path)
    reimport = time.perf_counter() - start
    assert again.new_rows == 0 and again.received_total == result.received_total
    checks = integrity_checks(ws, case.case_id, tmp / f"bag-{seed}")
    t = result.timings
    no_cluster = wall - t["cluster"]
    return {
        "rows": result.rows,
        "new_rows": result.new_rows,
        "distinct": result.distinct_total,
        "clusters": result.clusters_total,
        "late": result.late,
        "wall": wall,
        "cpu": cpu,
        "cli_wall": cli_wall,
        "cli_cpu": cli_cpu,
        "cli_rate": result.rows / cli_wall,
        "validate": t["validate"],
        "read": t["read"],
        "cluster": t["cluster"],
        "store": t["store"],
        "import_rate": result.rows / no_cluster,
        "end_to_end_rate": result.rows / wall,
        "recall": q["recall"],
        "into_campaign": q["into_campaign"],
        "individuals": sum(1 for c in truth if c == -1),
        "reimport": reimport,
        "mb": path.stat().st_size / 1e6,
        **checks,
    }


def integrity_checks(ws: Workspace, case_id: str, bag: Path) -> dict[str, float]:
    """The same rows checked against the history: `audit verify` of the case (its chain, its rules, its comments
    re-hashed), and the archive's comment files written and verified, full and public."""
    from flows.usecases.archive_comments import read_register, verify_comment_files, write_comment_files
    from flows.usecases.audit import verify_cases
    from flows.usecases.unit_of_work import pack_of
    from models.db import read_transaction
    from models.state import launch_state
    from models.store import load_stream

    out: dict[str, float] = {}
    start = time.perf_counter()
    report = verify_cases(ws, [case_id])
    out["audit_verify"] = time.perf_counter() - start
    assert report.exit_code == 0, report.to_json()
    with read_transaction(ws.engine) as conn:
        events = load_stream(conn, case_id)
        register = read_register(conn, case_id)
    pack = pack_of(launch_state(events[0]))
    for export in ("full", "public"):
        data = bag / export
        data.mkdir(parents=True)
        start = time.perf_counter()
        write_comment_files(register, events, pack, data, public=export == "public")
        out[f"write_{export}"] = time.perf_counter() - start
        start = time.perf_counter()
        check = verify_comment_files(data, events, pack, export)
        out[f"verify_{export}"] = time.perf_counter() - start
        assert not check.failures, check.failures
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    parser.add_argument("--json", action="store_true", help="end with one line: the figures as a JSON object (bench/run.py)")
    args = parser.parse_args()

    print(f"generating {args.n:,} comments (seed {args.seed}) …", flush=True)
    rows, truth = generate(args.n, args.seed)
    texts = [r["text"] for r in rows]

    # Clustering alone, over all n comments (no exact de-duplication first: the harder case), best of runs.
    matching_keys(texts[:2000])  # build the key table once, as any long-running process would have
    cluster_s = []
    for _ in range(args.runs):
        gc.disable()
        start = time.perf_counter()
        roots = near_duplicate_roots(matching_keys(texts)).tolist()
        cluster_s.append(time.perf_counter() - start)
        gc.enable()
    q = quality(texts, truth, roots, args.seed)
    individuals = sum(1 for t in truth if t == -1)

    results = []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="juece-bench-comments-") as tmp:
        for run in range(args.runs):
            results.append(run_once(args.n, args.seed + run, Path(tmp), args.format))
            r = results[-1]
            print(
                f"  run {run + 1}: {r['rows']:,} rows ({r['mb']:.1f} MB): `juece comments import` {r['cli_wall']:.2f} s "
                f"({r['cli_cpu']:.2f} CPU s); the use case in-process {r['wall']:.2f} s ({r['cpu']:.2f} CPU s) — "
                f"validate {r['validate']:.2f} s, read {r['read']:.2f} s, waiting for clusters {r['cluster']:.2f} s, "
                f"store+commit {r['store']:.2f} s; clusters stored: {r['recall']:.1%} of campaign copies in their "
                f"campaign's, {r['into_campaign']:,} individuals in one; "
                f"re-import {r['reimport']:.2f} s; audit verify {r['audit_verify']:.2f} s; bag comments written "
                f"{r['write_full']:.2f} s / {r['write_public']:.2f} s (public), verified {r['verify_full']:.2f} s / "
                f"{r['verify_public']:.2f} s",
                flush=True,
            )
    load_after = os.getloadavg()
    med = lambda k: statistics.median(r[k] for r in results)  # noqa: E731
    last = results[-1]
    print()
    print(f"machine: {os.cpu_count()} cores; load average {load_before[0]:.2f} before the import runs, "
          f"{load_after[0]:.2f} after (wall figures stretch with load; the CPU seconds less so)")
    print(f"comments ({args.format}): {last['rows']:,} rows, {last['distinct']:,} distinct after normalisation, "
          f"{last['clusters']:,} clusters, {last['late']:,} late")
    print(f"import end to end, `juece comments import` (its own process, start-up included: validate, exact duplicates, "
          f"durable store, near-duplicate clustering, the event), median of {args.runs}: {med('cli_rate'):,.0f} "
          f"comments/s ({med('cli_wall'):.2f} s, {med('cli_cpu'):.2f} CPU s) (target ≥ {IMPORT_TARGET:,}) "
          f"{'MET' if med('cli_rate') >= IMPORT_TARGET else 'NOT MET'}; clusters stored: {med('recall'):.1%} of "
          f"campaign copies in their campaign's main cluster, {med('into_campaign'):,.0f} of "
          f"{last['individuals']:,} individual comments put in a campaign's cluster")
    print(f"the same through the use case in-process (no start-up; key table built): {med('end_to_end_rate'):,.0f} "
          f"comments/s ({med('wall'):.2f} s, {med('cpu'):.2f} CPU s)")
    print(f"  without the wait for the clusters (validate + exact duplicates + durable store): "
          f"{med('import_rate'):,.0f} comments/s")
    print(f"near-duplicate clustering of all {args.n:,} comments, standalone: best {min(cluster_s):.2f} s, "
          f"median {statistics.median(cluster_s):.2f} s (target < {CLUSTER_TARGET_S:.0f} s) "
          f"{'MET' if statistics.median(cluster_s) < CLUSTER_TARGET_S else 'NOT MET'}")
    print(f"standalone clustering quality: {q['recall']:.1%} of campaign copies in their campaign's main cluster; "
          f"{q['into_campaign']:,} of {individuals:,} individual comments put in a campaign's cluster")
    print(f"  {q['edges']:,} similar pairs accepted by the sketch; exact 3-gram Jaccard of a sample of 3,000: "
          f"1st percentile {q['edge_p1']:.2f}, {q['edge_below_075']:.1%} below 0.75")
    print(f"  {q['grouped']:,} comments grouped with a different text; exact 3-gram Jaccard with the text their cluster "
          f"is named after (sample of 2,000; clusters are transitive): median {q['sim_median']:.2f}, "
          f"5th percentile {q['sim_p5']:.2f}, {q['sim_below_06']:.1%} below 0.6")
    print(f"re-import of the same file (nothing written): {med('reimport'):.2f} s")
    print(f"audit verify of the case (chain, rules, every comment re-hashed against its import's digests): "
          f"{med('audit_verify'):.2f} s")
    print(f"archive comment files, full / public: written {med('write_full'):.2f} / {med('write_public'):.2f} s, "
          f"verified against the history {med('verify_full'):.2f} / {med('verify_public'):.2f} s")
    if args.json:
        print(json.dumps({"end_to_end_rate": med("cli_rate"), "cpu_seconds": med("cli_cpu"), "wall_seconds": med("cli_wall"),
                          "in_process_rate": med("end_to_end_rate"), "import_rate": med("import_rate"),
                          "recall": med("recall"), "merged_individuals": med("into_campaign"),
                          "individuals": last["individuals"], "rows": last["rows"],
                          "load_before": load_before[0], "load_after": load_after[0]}))


if __name__ == "__main__":
    main()
