"""Signatures of the PromQL functions: argument types, variadic count and return type.

Type letters: ``V`` instant vector, ``M`` range vector, ``S`` scalar, ``T`` string.
``variadic`` follows Prometheus: 0 = fixed arity, n > 0 = the last argument is optional and
may repeat up to n times... (in practice: up to ``len(args) - 1 + n`` arguments),
-1 = any number of the last argument type.
"""

from __future__ import annotations

from dataclasses import dataclass

from vigil.promql.parser.ast import MATRIX, SCALAR, STRING, VECTOR

_TYPE = {"V": VECTOR, "M": MATRIX, "S": SCALAR, "T": STRING}


@dataclass(frozen=True)
class Function:
    name: str
    arg_types: tuple[str, ...]
    variadic: int
    return_type: str
    experimental: bool


_SIGNATURES: dict[str, tuple[str, int, str, bool]] = {
    "abs": ("V", 0, "V", False),
    "absent": ("V", 0, "V", False),
    "absent_over_time": ("M", 0, "V", False),
    "acos": ("V", 0, "V", False),
    "acosh": ("V", 0, "V", False),
    "asin": ("V", 0, "V", False),
    "asinh": ("V", 0, "V", False),
    "atan": ("V", 0, "V", False),
    "atanh": ("V", 0, "V", False),
    "avg_over_time": ("M", 0, "V", False),
    "ceil": ("V", 0, "V", False),
    "changes": ("M", 0, "V", False),
    "clamp": ("VSS", 0, "V", False),
    "clamp_max": ("VS", 0, "V", False),
    "clamp_min": ("VS", 0, "V", False),
    "cos": ("V", 0, "V", False),
    "cosh": ("V", 0, "V", False),
    "count_over_time": ("M", 0, "V", False),
    "days_in_month": ("V", 1, "V", False),
    "day_of_month": ("V", 1, "V", False),
    "day_of_week": ("V", 1, "V", False),
    "day_of_year": ("V", 1, "V", False),
    "deg": ("V", 0, "V", False),
    "end": ("", 0, "S", True),
    "delta": ("M", 0, "V", False),
    "deriv": ("M", 0, "V", False),
    "exp": ("V", 0, "V", False),
    "first_over_time": ("M", 0, "V", False),
    "floor": ("V", 0, "V", False),
    "histogram_avg": ("V", 0, "V", False),
    "histogram_count": ("V", 0, "V", False),
    "histogram_sum": ("V", 0, "V", False),
    "histogram_stddev": ("V", 0, "V", False),
    "histogram_stdvar": ("V", 0, "V", False),
    "histogram_fraction": ("SSV", 0, "V", False),
    "histogram_quantile": ("SV", 0, "V", False),
    "histogram_quantiles": ("VTSS", 9, "V", True),
    "double_exponential_smoothing": ("MSS", 0, "V", True),
    "hour": ("V", 1, "V", False),
    "idelta": ("M", 0, "V", False),
    "increase": ("M", 0, "V", False),
    "info": ("VV", 1, "V", True),
    "irate": ("M", 0, "V", False),
    "label_replace": ("VTTTT", 0, "V", False),
    "label_join": ("VTTT", -1, "V", False),
    "max_of": ("SS", 0, "S", True),
    "last_over_time": ("M", 0, "V", False),
    "min_of": ("SS", 0, "S", True),
    "ln": ("V", 0, "V", False),
    "log10": ("V", 0, "V", False),
    "log2": ("V", 0, "V", False),
    "mad_over_time": ("M", 0, "V", True),
    "max_over_time": ("M", 0, "V", False),
    "min_over_time": ("M", 0, "V", False),
    "ts_of_first_over_time": ("M", 0, "V", True),
    "ts_of_max_over_time": ("M", 0, "V", True),
    "ts_of_min_over_time": ("M", 0, "V", True),
    "ts_of_last_over_time": ("M", 0, "V", True),
    "minute": ("V", 1, "V", False),
    "month": ("V", 1, "V", False),
    "pi": ("", 0, "S", False),
    "predict_linear": ("MS", 0, "V", False),
    "present_over_time": ("M", 0, "V", False),
    "quantile_over_time": ("SM", 0, "V", False),
    "rad": ("V", 0, "V", False),
    "range": ("", 0, "S", True),
    "rate": ("M", 0, "V", False),
    "resets": ("M", 0, "V", False),
    "round": ("VS", 1, "V", False),
    "scalar": ("V", 0, "S", False),
    "sgn": ("V", 0, "V", False),
    "sin": ("V", 0, "V", False),
    "sinh": ("V", 0, "V", False),
    "sort": ("V", 0, "V", False),
    "sort_desc": ("V", 0, "V", False),
    "sort_by_label": ("VT", -1, "V", True),
    "sort_by_label_desc": ("VT", -1, "V", True),
    "sqrt": ("V", 0, "V", False),
    "start": ("", 0, "S", True),
    "start_timestamp": ("V", 0, "V", True),
    "step": ("", 0, "S", True),
    "stddev_over_time": ("M", 0, "V", False),
    "stdvar_over_time": ("M", 0, "V", False),
    "sum_over_time": ("M", 0, "V", False),
    "tan": ("V", 0, "V", False),
    "tanh": ("V", 0, "V", False),
    "time": ("", 0, "S", False),
    "timestamp": ("V", 0, "V", False),
    "vector": ("S", 0, "V", False),
    "year": ("V", 1, "V", False),
}

FUNCTIONS: dict[str, Function] = {
    name: Function(name, tuple(_TYPE[c] for c in args), var, _TYPE[rt], exp)
    for name, (args, var, rt, exp) in _SIGNATURES.items()
}
