"""Build the book at full or quick size: ``python book/build.py full|quick``.

full  (``make book``): executes every chapter at full size through jupyter-cache, so a rebuild
      with nothing changed executes nothing and a changed chapter re-runs alone. The cache does
      not see vaelib, so a change to any file of vaelib (which every chapter imports) empties it.
      The chapters the cache lacks run first, as many at a time as the machine has cores (one
      thread each); the Sphinx build then finds them all in the cache.
      Output: ``_build/html``; a per-chapter table of execution times at the end.
quick (``make test``): builds the book at ``VAELIB_QUICK=1`` from the notebooks that nbmake has
      already executed into ``_executed/chapters`` (each chapter runs once in ``make test``).
      Without them, it executes the chapters itself through a quick-size cache.
      Output: ``_build/quick/_build/html``.

Quick and full executions never share a cache: their folders are ``_build/jupyter_cache/quick``
and ``_build/jupyter_cache/full`` (``_config.yml`` names the full one). ``make clean`` removes
both, which forces every chapter to run again.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import yaml

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build"
# make chapters: nbmake --overwrite writes here (not under _build, which nbmake never collects)
EXECUTED = ROOT / "_executed" / "chapters"
CACHE = {"full": BUILD / "jupyter_cache" / "full", "quick": BUILD / "jupyter_cache" / "quick"}
STAGE = BUILD / "quick_src"  # the quick book's sources: the executed chapters + the book pages
QUICK_OUT = BUILD / "quick"


def vaelib_digest() -> str:
    """SHA-256 over every file of vaelib (code and shipped data), in path order."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "vaelib").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(ROOT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def refresh_cache(cache: Path) -> bool:
    """Empty ``cache`` when vaelib changed since it was filled; True when it was emptied."""
    stamp = cache / "vaelib.sha256"
    current = vaelib_digest()
    if stamp.is_file() and stamp.read_text().strip() == current:
        return False
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir(parents=True)
    stamp.write_text(current + "\n")
    return True


def jupyter_book() -> str:
    exe = Path(sys.executable).parent / "jupyter-book"
    return str(exe) if exe.exists() else "jupyter-book"


def run_build(source: Path, output: Path | None, env: dict) -> int:
    command = [jupyter_book(), "build", str(source), "--all", "-W", "-n", "--keep-going"]
    if output is not None:
        command += ["--path-output", str(output)]
    print("$ " + " ".join(command), flush=True)
    return subprocess.run(command, env=env, cwd=ROOT).returncode


def timing_table(cache: Path) -> str:
    """The execution time of each chapter, from the jupyter-cache records."""
    from jupyter_cache import get_cache

    rows = []
    for record in get_cache(str(cache)).list_cache_records():
        seconds = (record.data or {}).get("execution_seconds")
        if seconds is not None:
            rows.append((Path(record.uri).name, seconds))
    lines = ["chapter execution times (full size, this cache):"]
    lines += [f"  {name:38s} {seconds:7.1f} s" for name, seconds in sorted(rows)]
    lines.append(f"  {'total':38s} {sum(s for _, s in rows):7.1f} s")
    return "\n".join(lines)


def execute_uncached(cache: Path, chapters: Path, timeout: int, **env: str) -> None:
    """Execute the notebooks of ``chapters`` that ``cache`` has no record of, in parallel.

    As many run at a time as the machine has cores, each kernel with one thread
    (``OMP_NUM_THREADS=1``) and ``env`` added to its environment: on a small machine two chapters
    side by side finish sooner than the same two one after the other with two threads each. A
    chapter that fails here is left to the Sphinx build, which runs it again and shows its error.
    """
    from jupyter_cache import get_cache
    from jupyter_cache.executors import load_executor

    jcache = get_cache(str(cache))
    uris = [str(path) for path in sorted(chapters.glob("*.ipynb"))]
    for uri in uris:
        jcache.add_nb_to_project(uri)
    todo = len(jcache.list_unexecuted(filter_uris=uris))
    if not todo:
        return
    print(f"executing {todo} chapter(s), {os.cpu_count()} at a time", flush=True)
    executor = load_executor("local-parallel", cache=jcache)
    with mock.patch.dict(os.environ, OMP_NUM_THREADS="1", **env):  # the kernels inherit it
        result = executor.run_and_cache(filter_uris=uris, timeout=timeout, allow_errors=False)
    for uri in result.excepted + result.errored:
        print(f"{Path(uri).name} failed; the build runs it again and shows why", flush=True)


def build_full() -> int:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    cache = ROOT / config["execute"]["cache"]
    assert cache == CACHE["full"], f"_config.yml's execute.cache should be {CACHE['full']}"
    if refresh_cache(cache):
        print("vaelib changed (or no cache yet): every chapter executes", flush=True)
    start = time.perf_counter()
    execute_uncached(cache, ROOT / "chapters", config["execute"]["timeout"], VAELIB_STATIC="1")
    code = run_build(ROOT, None, dict(os.environ, VAELIB_STATIC="1"))
    print(f"\nbuilt in {time.perf_counter() - start:.0f} s\n{timing_table(cache)}")
    return code


def stage_quick(executed: Path | None) -> Path:
    """Copy the book's sources into ``_build/quick_src``, with the executed chapters when given,
    and a ``_config.yml`` that reuses them (execution off) or runs them through the quick cache."""
    shutil.rmtree(STAGE, ignore_errors=True)
    STAGE.mkdir(parents=True)
    shutil.copy2(ROOT / "_toc.yml", STAGE / "_toc.yml")
    shutil.copytree(ROOT / "book", STAGE / "book", ignore=shutil.ignore_patterns("__pycache__"))
    chapters = sorted((ROOT / "chapters").glob("*.ipynb"))
    (STAGE / "chapters").mkdir()
    for chapter in chapters:
        source = executed / chapter.name if executed else chapter
        if not source.is_file():
            raise SystemExit(f"{source} is missing: run the chapters first (make test)")
        shutil.copy2(source, STAGE / "chapters" / chapter.name)
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    if executed:
        config["execute"]["execute_notebooks"] = "off"
    else:
        refresh_cache(CACHE["quick"])
        config["execute"]["cache"] = str(CACHE["quick"])
    (STAGE / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    return STAGE


def build_quick(executed: Path | None) -> int:
    source = stage_quick(executed)
    shutil.rmtree(QUICK_OUT, ignore_errors=True)
    QUICK_OUT.mkdir(parents=True)
    env = dict(os.environ, VAELIB_QUICK="1", VAELIB_STATIC="1")
    if not executed:
        timeout = yaml.safe_load((ROOT / "_config.yml").read_text())["execute"]["timeout"]
        execute_uncached(
            CACHE["quick"], source / "chapters", timeout, VAELIB_QUICK="1", VAELIB_STATIC="1"
        )
    return run_build(source, QUICK_OUT, env)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("size", choices=["full", "quick"])
    parser.add_argument(
        "--executed",
        type=Path,
        default=None,
        help=f"quick only: reuse the chapters executed here (make test passes {EXECUTED})",
    )
    args = parser.parse_args(argv)
    if args.size == "full":
        return build_full()
    return build_quick(args.executed)


if __name__ == "__main__":
    sys.exit(main())
