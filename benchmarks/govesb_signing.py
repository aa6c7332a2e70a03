"""How long GovESB signing and verifying take, to decide whether they may run on the event loop.

    .venv/bin/python benchmarks/govesb_signing.py [ROUNDS]

Prints microseconds per operation (median and 99th percentile) for building a signed envelope of a
typical e-Mrejesho submission and for verifying a signed reply, on secp256k1 and P-256.
"""

from __future__ import annotations

import statistics
import sys
import time

from cryptography.hazmat.primitives.asymmetric import ec

from ussd_gateway.adapters.connectors import govesb_crypto

DATA = {
    "pushCode": "FEEDBACK-INTAKE",
    "esbBody": {
        "reference": "MRJ-2611-0001",
        "service": "mrejesho",
        "channel": "ussd",
        "language": "sw",
        "kind": "complaint",
        "data": {"institution": "DAWASA", "body": "Huduma ya maji si nzuri " * 12},
        "phone": "+255712345678",
        "anonymous": False,
        "created_at": "2026-11-23T12:00:00Z",
    },
}


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def measure(rounds: int, curve: ec.EllipticCurve) -> None:
    key = ec.generate_private_key(curve)
    public = key.public_key()
    signing, verifying = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        message = govesb_crypto.canonical_json(DATA)
        signature = govesb_crypto.sign(key, message)
        signing.append(time.perf_counter() - started)
        started = time.perf_counter()
        assert govesb_crypto.verify(public, govesb_crypto.canonical_json(DATA), signature)
        verifying.append(time.perf_counter() - started)
    for label, samples in (("serialise+sign", signing), ("serialise+verify", verifying)):
        print(
            f"{curve.name:10} {label:17} median {statistics.median(samples) * 1e6:7.1f} us"
            f"   p99 {percentile(samples, 0.99) * 1e6:7.1f} us   ({rounds} rounds)"
        )


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    for curve in (ec.SECP256K1(), ec.SECP256R1()):
        measure(rounds, curve)


if __name__ == "__main__":
    main()
