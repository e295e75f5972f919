#!/usr/bin/env python3
"""Builds the fuzzers' seed corpora and dictionaries from the repository's own files.

    python3 fuzz/seeds.py            # from anywhere in the repository

Writes fuzz/corpus/<target>/ (ignored by git: libFuzzer adds what it finds there) and
fuzz/dict/*.dict (committed; rewritten from the sources so new keywords join them):

- wire_decode: every VRRP payload keepalived 2.2.7 sent in engine/tests/fixtures
  (keepalived-adverts.jsonl), with its IP addresses, in both checksum modes;
- keepalived_conf: the keepalived.conf fixtures, the inline configs of experiments/*.toml,
  and one file set with includes;
- experiment_toml: experiments/*.toml;
- compare_trace: the trace lines of docs/trace.md and, when a `sim` binary is built
  (target/release/sim or target/debug/sim), traces of the seed lab and the sync-group
  experiment, each also paired with itself (`#B`);
- engine_inputs: none (its input is `arbitrary`-structured; libFuzzer starts from nothing).

Dictionaries: keepalived.conf keywords (the string literals of the front end's keyword
tables), experiment keys (the schema's fields and words), trace keys and kinds.
"""

import hashlib
import ipaddress
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FUZZ = os.path.join(ROOT, "fuzz")


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


def put(target, data):
    """Write one seed, named by its hash (the way libFuzzer names corpus files)."""
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(FUZZ, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


def addr16(text):
    a = ipaddress.ip_address(text)
    return a.packed.ljust(16, b"\0")


def wire_seeds():
    n = 0
    for line in read("engine/tests/fixtures/keepalived-adverts.jsonl").splitlines():
        if not line.strip():
            continue
        r = json.loads(line)
        v6 = r["family"] == 6
        payload = bytes.fromhex(r["vrrp_hex"])
        for no_pseudo in (0, 2):
            flags = (1 if v6 else 0) | no_pseudo
            put("wire_decode", bytes([flags]) + addr16(r["ip_src"]) + addr16(r["ip_dst"]) + payload)
            n += 1
    return n


def inline_configs(toml_text):
    return re.findall(r"config\s*=\s*'''\n?(.*?)'''", toml_text, re.S)


def conf_seeds():
    n = 0
    fixtures = "engine/tests/fixtures"
    paths = [os.path.join(fixtures, "keepalived.conf")]
    paths += sorted(
        os.path.join(fixtures, "keepalived", f)
        for f in os.listdir(os.path.join(ROOT, fixtures, "keepalived"))
    )
    for p in paths:
        put("keepalived_conf", read(p))
        n += 1
    for f in sorted(os.listdir(os.path.join(ROOT, "experiments"))):
        if f.endswith(".toml"):
            for c in inline_configs(read(os.path.join("experiments", f))):
                put("keepalived_conf", c)
                n += 1
    # A file set: includes by name and by wildcard, conditional lines and definitions.
    put(
        "keepalived_conf",
        "$IF=eth0\n@node1 global_defs {\n  router_id node1\n}\n@^node1 global_defs {\n"
        "  router_id other\n}\ninclude conf.d/*.conf\ninclude scripts.conf\n"
        "#@file conf.d/vi_1.conf\nvrrp_instance VI_1 {\n  interface $IF\n"
        "  virtual_router_id 51\n  priority 100\n  track_script {\n    chk\n  }\n"
        "  virtual_ipaddress {\n    10.0.0.100/24 dev ${IF}\n  }\n}\n"
        "#@file conf.d/vi_2.conf\nvrrp_instance VI_2 {\n  interface eth0\n"
        "  virtual_router_id 52\n  version 3\n  advert_int 0.1\n  virtual_ipaddress {\n"
        "    fd00::1\n  }\n}\n"
        "#@file scripts.conf\nvrrp_script chk {\n  script \"/bin/true\"\n  weight -20\n}\n",
    )
    return n + 1


def experiment_seeds():
    n = 0
    for f in sorted(os.listdir(os.path.join(ROOT, "experiments"))):
        if f.endswith(".toml"):
            put("experiment_toml", read(os.path.join("experiments", f)))
            n += 1
    return n


def sim_binary():
    for p in ("target/release/sim", "target/debug/sim"):
        if os.access(os.path.join(ROOT, p), os.X_OK):
            return os.path.join(ROOT, p)
    return None


def trace_seeds():
    lines = [l for l in read("docs/trace.md").splitlines() if l.startswith('{"t"')]
    put("compare_trace", "\n".join(lines) + "\n")
    n = 1
    sim = sim_binary()
    if sim is None:
        print("seeds.py: no sim binary built: compare_trace gets only the docs' lines")
        return n
    for exp in ("seed-lab", "sync-group"):
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [sim, "run", os.path.join(ROOT, "experiments", exp + ".toml"), "--seeds", "1",
                   "--no-plots", "--threads", "1", "--out", os.path.join(tmp, "out"),
                   "--trace", os.path.join(tmp, "trace")]
            if subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode:
                print(f"seeds.py: sim run {exp} failed: no trace seeds from it")
                continue
            for variant in sorted(os.listdir(os.path.join(tmp, "trace"))):
                vdir = os.path.join(tmp, "trace", variant)
                parts = []
                for node in sorted(os.listdir(vdir)):
                    with open(os.path.join(vdir, node), encoding="utf-8") as f:
                        # The first 200 lines: a start, a takeover and more; libFuzzer
                        # mutates small inputs much faster than long ones.
                        text = "".join(f.readlines()[:200])
                    parts.append(f"#node {node[:-len('.jsonl')]}\n{text}")
                    put("compare_trace", text)
                    n += 1
                world = f"#variant {variant}\n" + "".join(parts)
                put("compare_trace", world + "#B\n" + world)
                n += 1
    return n


def literals(path, pattern=r'"([A-Za-z_][A-Za-z0-9_]*)"'):
    return set(re.findall(pattern, read(path)))


def write_dict(name, words, extra=()):
    d = os.path.join(FUZZ, "dict")
    os.makedirs(d, exist_ok=True)
    words = sorted(set(words) | set(extra))
    with open(os.path.join(d, name), "w", encoding="utf-8") as f:
        f.write(f"# Generated by fuzz/seeds.py from the sources; {len(words)} entries.\n")
        for w in words:
            f.write('"' + w.replace("\\", "\\\\").replace('"', '\\"') + '"\n')
    return len(words)


def dicts():
    kw = set()
    for f in sorted(os.listdir(os.path.join(ROOT, "engine/src/keepalived/map"))):
        kw |= literals(os.path.join("engine/src/keepalived/map", f))
    kw |= literals("engine/src/keepalived/preprocess.rs")
    kw |= literals("engine/src/keepalived/loader.rs")
    n1 = write_dict("keepalived.dict", kw, ["{", "}", "\"", "#", "!", "@", "@^", "$", "${",
                                             "include ", "#@file ", "10.0.0.1/24", "fd00::1",
                                             "fe80::1", "dev", "0.5", "-20", "255"])
    toml_kw = literals("sim/src/experiment/schema.rs", r"pub ([a-z_][a-z0-9_]*):")
    toml_kw |= literals("sim/src/experiment/schema.rs")
    toml_kw |= literals("sim/src/experiment/mod.rs")
    n2 = write_dict("experiment.dict", toml_kw, ["[[nodes]]", "[[variants]]", "[[faults]]",
                                                  "[network]", "'''", "= ", "\"1s\"", "\"10ms\""])
    trace_kw = literals("engine/src/trace.rs", r"pub ([a-z_][a-z0-9_]*):")
    trace_kw |= literals("engine/src/trace.rs", r"^\s+([a-z_][a-z0-9_]*):", )
    # Variant names of the trace and reason enums, as serde writes them (snake_case).
    for src in ("engine/src/trace.rs", "engine/src/io.rs"):
        for v in re.findall(r"^    ([A-Z][A-Za-z]+)[ ({,]", read(src), re.M):
            trace_kw.add(re.sub(r"(?<!^)([A-Z])", r"_\1", v).lower())
    n3 = write_dict("trace.dict", trace_kw, ['{"t":', '"kind":', "MASTER", "BACKUP", "FAULT",
                                             "INIT", "#B", "#node ", "#variant "])
    return n1, n2, n3


def main():
    counts = {
        "wire_decode": wire_seeds(),
        "keepalived_conf": conf_seeds(),
        "experiment_toml": experiment_seeds(),
        "compare_trace": trace_seeds(),
    }
    os.makedirs(os.path.join(FUZZ, "corpus", "engine_inputs"), exist_ok=True)
    k, e, t = dicts()
    print("seeds.py: seeds " + ", ".join(f"{t_}={n}" for t_, n in counts.items())
          + f"; dictionaries keepalived={k} experiment={e} trace={t} entries")
    return 0


if __name__ == "__main__":
    sys.exit(main())
