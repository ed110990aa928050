"""The benchmark's per-thread CPU split (bench/procs.py): a store's background threads,
named as RocksDB names its own, are counted apart from the process's other threads."""

from __future__ import annotations

import ctypes
import os
import threading
import time

from bench import procs

PR_SET_NAME = 15


def spin(name: bytes, seconds: float, done: threading.Event) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_NAME, ctypes.c_char_p(name), 0, 0, 0)
    started = time.thread_time()
    while time.thread_time() - started < seconds:
        pass
    done.wait(10)


def test_rocksdb_threads_are_counted_apart() -> None:
    pid = os.getpid()
    done = threading.Event()
    store = threading.Thread(target=spin, args=(b"rocksdb:low", 0.3, done))
    other = threading.Thread(target=spin, args=(b"not-the-store", 0.2, done))
    before = procs.rocksdb_cpu_seconds(pid)
    store.start()
    other.start()
    try:
        time.sleep(0.1)
        while store.is_alive() and procs.thread_cpu_seconds(pid).get("rocksdb:low", 0) < 0.29:
            time.sleep(0.05)
        spent = procs.thread_cpu_seconds(pid)
        assert spent["rocksdb:low"] >= 0.29 and spent["not-the-store"] >= 0.19
        assert 0.29 <= procs.rocksdb_cpu_seconds(pid) - before < 0.29 + 0.1
    finally:
        done.set()
        store.join()
        other.join()
