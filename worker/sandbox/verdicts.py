"""Verdicts in Judge0's taxonomy, with Judge0's status ids.

Judge0 CE numbers its statuses 1-14; it has no own status for exceeded memory or output (it
reports them as runtime errors). Switchyard keeps Judge0's ids and adds 15 and 16 for those
two, so clients can tell them apart:

| id | status |                              | id | status |
|----|--------|------------------------------|----|--------|
| 3  | Accepted                              | 9  | Runtime Error (SIGFPE) |
| 4  | Wrong Answer                          | 10 | Runtime Error (SIGABRT) |
| 5  | Time Limit Exceeded                   | 11 | Runtime Error (NZEC) |
| 6  | Compilation Error                     | 12 | Runtime Error (Other) |
| 7  | Runtime Error (SIGSEGV)               | 13 | Internal Error |
| 8  | Runtime Error (SIGXFSZ)               | 15 | Memory Limit Exceeded (Switchyard) |
|    |                                       | 16 | Output Limit Exceeded (Switchyard) |
"""

from __future__ import annotations

import signal as signals

from shared.schemas.execute import Verdict

ACCEPTED = Verdict(id=3, status="Accepted")
WRONG_ANSWER = Verdict(id=4, status="Wrong Answer")
TIME_LIMIT = Verdict(id=5, status="Time Limit Exceeded")
COMPILATION_ERROR = Verdict(id=6, status="Compilation Error")
RUNTIME_SIGSEGV = Verdict(id=7, status="Runtime Error (SIGSEGV)")
RUNTIME_SIGXFSZ = Verdict(id=8, status="Runtime Error (SIGXFSZ)")
RUNTIME_SIGFPE = Verdict(id=9, status="Runtime Error (SIGFPE)")
RUNTIME_SIGABRT = Verdict(id=10, status="Runtime Error (SIGABRT)")
RUNTIME_NZEC = Verdict(id=11, status="Runtime Error (NZEC)")
RUNTIME_OTHER = Verdict(id=12, status="Runtime Error (Other)")
INTERNAL_ERROR = Verdict(id=13, status="Internal Error")
MEMORY_LIMIT = Verdict(id=15, status="Memory Limit Exceeded")
OUTPUT_LIMIT = Verdict(id=16, status="Output Limit Exceeded")

_BY_SIGNAL = {
    int(signals.SIGSEGV): RUNTIME_SIGSEGV,
    int(signals.SIGXFSZ): RUNTIME_SIGXFSZ,
    int(signals.SIGFPE): RUNTIME_SIGFPE,
    int(signals.SIGABRT): RUNTIME_SIGABRT,
    int(signals.SIGXCPU): TIME_LIMIT,  # RLIMIT_CPU ran out
}
MEMORY_ERROR_EXIT = 101  # the harness's exit status after a MemoryError
FILE_SIZE_EXIT = 102  # ... after EFBIG (CPython ignores SIGXFSZ, so writes fail instead)


def for_signal(number: int) -> Verdict:
    return _BY_SIGNAL.get(number, RUNTIME_OTHER)
