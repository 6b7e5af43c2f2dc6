"""ReLU CNN baseline on scikit-learn's digits: the reference accuracy for the other torch examples.

    python examples/torch_baseline.py [--epochs 30] [--seeds 0 1 2] [--device cpu] [--quick]
"""
from __future__ import annotations

import torch_common as tc


def main(argv=None) -> int:
    args = tc.finish_args(tc.parser(__doc__.split("\n\n")[0]).parse_args(argv))
    data = tc.load_digits(args.device, quick=args.quick)
    result = tc.MethodResult("relu baseline")
    for seed in args.seeds:
        tc.train_teacher(data, args, seed, result)
    tc.report([result], args, "torch_baseline", "ReLU CNN on digits")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
