"""Every rule is registered once, with a stable upper-case code, a severity and both titles."""

from __future__ import annotations

import importlib
import pkgutil

import territoria.quality.rules as series_rules
import territoria.validation.rules as row_rules
from territoria.quality.rules import RULES


def test_every_rule_module_is_registered_with_both_languages() -> None:
    # Row and asset rules live in validation (pure), series rules in quality: RULES holds them all.
    modules = [
        f"{pkg.__name__}.{m.name}"
        for pkg in (row_rules, series_rules)
        for m in pkgutil.iter_modules(pkg.__path__)
        if not m.name.startswith("_")
    ]
    codes = []
    for module in modules:
        name = module.rsplit(".", 1)[1]
        rule = importlib.import_module(module).RULE
        assert rule.code == name.upper(), (name, rule.code)
        assert rule.severity in ("error", "warning") and rule.scope in ("row", "series", "asset", "dataset")
        assert rule.title_en and rule.title_fr and rule.title_en != rule.title_fr
        assert RULES[rule.code] is rule, f"{rule.code} is not in RULES"
        codes.append(rule.code)
    assert sorted(codes) == sorted(RULES)
