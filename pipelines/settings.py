"""One declaration per setting: name, type, default, range or choices, unit, help.

A wrapper declares its settings beside its code, once, and everything else reads
the declaration: the wrapper's checks (`@checked`), the `Studio` facade (which
settings a preset may override), the UI (slider bounds, dropdown choices,
labels), the CLI (`--help`), the batch file checks and the API docs.

    STEPS = Setting("steps", int, 25, low=1, high=150, help=("Denoising steps", "Étapes de débruitage"))

    class TextToImage(_Diffusion):  # a Wrapper (pipelines.wrapper), as most wrappers are
        @checked(SETTINGS)
        def __call__(self, prompt: str, *, steps: int = D.steps, ...):

`@checked` checks every declared keyword of the call before its body runs (a
`ValueError` naming the field, the value and what is allowed) and hands the
body canonical values; signature defaults read the declaration (`D.steps`), so
`help()` and IDEs show the real default and it is written once.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from types import SimpleNamespace
from typing import Any

from pipelines import checks

Choices = Sequence[Any] | Callable[[], Sequence[Any]]


@dataclasses.dataclass(frozen=True)
class Setting:
    name: str
    type: type  # int, float, str or bool
    default: Any = None  # None: decided by the model or the input (a native size, a drawn seed)
    low: float | None = None
    high: float | None = None
    step: float | None = None  # the UI's increment
    multiple_of: int = 1  # int settings: the value must be a multiple of it
    choices: Choices | None = None  # values, or (label, value) pairs; a function for choices read at run time
    unit: str = ""
    help: tuple[str, str] = ("", "")  # one line, English and French
    low_open: bool = False  # low itself is not allowed
    max_chars: int | None = None  # text settings
    allow_empty: bool = True  # text settings
    preset: bool = True  # a preset's [section.defaults] may set it
    check_value: Callable[[str, Any], Any] | None = None  # a check of its own, instead of the type's

    def but(self, **changes: Any) -> Setting:
        """The same setting with some fields changed (another default, range or help)."""
        return dataclasses.replace(self, **changes)

    def values(self) -> list[Any]:
        """The allowed values, when the setting has choices (labels left out)."""
        found = self.choices() if callable(self.choices) else self.choices or ()
        return [c[1] if isinstance(c, tuple) else c for c in found]

    def labelled_choices(self) -> list[tuple[str, Any]]:
        found = self.choices() if callable(self.choices) else self.choices or ()
        return [c if isinstance(c, tuple) else (str(c), c) for c in found]

    def check(self, value: Any) -> Any:
        """`value` in its canonical type, or a ValueError naming the setting and what it allows."""
        if self.check_value is not None:
            return self.check_value(self.name, value)
        if value is None and self.default is None:
            return None
        if self.choices is not None:
            return self._check_choice(value)
        if self.type is bool:
            if not isinstance(value, bool):
                raise ValueError(f"{self.name} must be true or false, got {value!r}")
            return value
        if self.type is int:
            return checks.integer(self.name, value, low=int(self.low), high=int(self.high), multiple_of=self.multiple_of)
        if self.type is float:
            return checks.number(self.name, value, low=self.low, high=self.high, low_open=self.low_open)
        return checks.text(self.name, value, max_chars=self.max_chars or 10_000, allow_empty=self.allow_empty)

    def _check_choice(self, value: Any) -> Any:
        allowed = self.values()
        if self.type is str:
            return checks.choice(self.name, value, allowed)
        if self.type is int:
            value = checks.integer(self.name, value, low=min(allowed), high=max(allowed))
        if value not in allowed:
            raise ValueError(f"{self.name} must be one of {', '.join(map(str, allowed))}, got {value!r}")
        return value

    def describe(self) -> str:
        """One line for --help and the API docs: help, default, range or choices, unit."""
        parts = [self.help[0]] if self.help[0] else []
        if self.choices is not None and not callable(self.choices):
            parts.append("one of " + ", ".join(map(str, self.values())))
        elif self.low is not None and self.high is not None:
            opening = "(" if self.low_open else "["
            parts.append(f"{opening}{_number(self.low)}, {_number(self.high)}]" + (f" {self.unit}" if self.unit else ""))
        if self.default not in (None, ""):
            parts.append(f"default {self.default}")
        return "; ".join(parts)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and math.isfinite(value) else f"{value:g}"


class Settings:
    """The settings of one or more wrapper calls, in order; `defaults` for signatures."""

    def __init__(self, *settings: Setting):
        self._by_name = {s.name: s for s in settings}
        if len(self._by_name) != len(settings):
            raise ValueError("a setting is declared twice")
        self.defaults = SimpleNamespace(**{s.name: s.default for s in settings})

    def __iter__(self) -> Iterator[Setting]:
        return iter(self._by_name.values())

    def __len__(self) -> int:
        return len(self._by_name)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __getitem__(self, name: str) -> Setting:
        return self._by_name[name]

    def __add__(self, other: Settings) -> Settings:
        return Settings(*self, *(s for s in other if s.name not in self))

    def with_help(self, **helps: tuple[str, str]) -> Settings:
        """The same settings, some with another help text (`width=("...", "...")`)."""
        return Settings(*(s.but(help=helps[s.name]) if s.name in helps else s for s in self))

    def but_defaults(self, defaults: dict[str, Any]) -> Settings:
        """The same settings, those named in `defaults` defaulting to its value (a preset's)."""
        return Settings(*(s.but(default=defaults[s.name]) if s.name in defaults else s for s in self))

    def names(self) -> list[str]:
        return list(self._by_name)

    def only(self, names: Iterable[str]) -> Settings:
        """These settings (in declared order) among `names`."""
        wanted = set(names)
        return Settings(*(s for s in self if s.name in wanted))

    def pick(self, values: dict[str, Any]) -> dict[str, Any]:
        """The declared settings among `values` (a call's `locals()`), in declared order."""
        return {s.name: values[s.name] for s in self if s.name in values}

    def check(self, values: dict[str, Any]) -> dict[str, Any]:
        """`values` with every declared one checked and canonical; others are left as they are."""
        return {name: self[name].check(value) if name in self else value for name, value in values.items()}


def checked(settings: Settings):
    """Decorator: the call's declared keywords are checked before its body runs.

    At decoration time, the signature's defaults must equal the declared ones:
    a default written twice would drift.

    A call may take declared settings through `**settings` (typed
    `Unpack[SomeTypedDict]` so IDEs complete them): the decorated call's
    signature then shows each of them as a keyword of its own with its declared
    default (what `help()`, `inspect.signature` and the studio read), unknown
    keywords are refused as by any call, and the body gets them all in the
    dict, defaults filled in and checked. The TypedDict's keys must be those
    declared settings, no more, no fewer.
    """

    def decorate(call: Callable) -> Callable:
        signature = inspect.signature(call)
        spread = next((p for p in signature.parameters.values() if p.kind is p.VAR_KEYWORD), None)
        for name, parameter in signature.parameters.items():
            default = parameter.default
            if name in settings and default is not inspect.Parameter.empty and default != settings[name].default:
                raise TypeError(f"{call.__qualname__}: {name} defaults to {default!r}, declared {settings[name].default!r}")
        spread_names = [s.name for s in settings if s.name not in signature.parameters] if spread else []
        shown = signature
        if spread is not None:
            hints = _typed_dict_hints(call, spread)
            if hints is not None and set(hints) != set(spread_names):
                raise TypeError(f"{call.__qualname__}: **{spread.name} types {sorted(hints)}, "
                                f"declared {sorted(spread_names)}")
            spread_out = {name: inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=settings[name].default,
                                                  annotation=(hints or {}).get(name, _annotation(settings[name])))
                          for name in spread_names}
            keywords = {**{n: p for n, p in signature.parameters.items() if p.kind is p.KEYWORD_ONLY}, **spread_out}
            order = settings.names()  # the declared settings first, in declared order, then the call's others
            keywords = sorted(keywords.values(), key=lambda p: order.index(p.name) if p.name in settings else len(order))
            before = [p for p in signature.parameters.values() if p.kind not in (p.KEYWORD_ONLY, p.VAR_KEYWORD)]
            shown = signature.replace(parameters=[*before, *keywords])
        mine = settings.only(shown.parameters)

        @functools.wraps(call)
        def run(*args: Any, **kwargs: Any) -> Any:
            bound = shown.bind(*args, **kwargs)
            bound.apply_defaults()
            for setting in mine:
                bound.arguments[setting.name] = setting.check(bound.arguments[setting.name])
            if spread is None:
                return call(*bound.args, **bound.kwargs)
            arguments = {k: v for k, v in bound.arguments.items() if k not in spread_names}
            arguments[spread.name] = {name: bound.arguments[name] for name in spread_names}
            inner = inspect.BoundArguments(signature, arguments)
            return call(*inner.args, **inner.kwargs)

        run.__signature__ = shown
        run.settings = mine  # what the call takes, for the studio and the tools
        return run

    return decorate


def _annotation(setting: Setting) -> Any:
    return setting.type | None if setting.default is None else setting.type


def _typed_dict_hints(call: Callable, spread: inspect.Parameter) -> dict[str, Any] | None:
    """The keys and types of `**spread: Unpack[TD]`, or None when it is not annotated so."""
    import typing

    annotation = spread.annotation
    if isinstance(annotation, str):
        try:
            annotation = eval(annotation, call.__globals__)  # noqa: S307 - the module's own annotation
        except Exception:
            return None
    if typing.get_origin(annotation) is not typing.Unpack:
        return None
    (typed,) = typing.get_args(annotation)
    return typing.get_type_hints(typed)


def settings_of(call: Callable) -> Settings:
    """The declared settings a `@checked` call takes (none for another function)."""
    return getattr(call, "settings", None) or Settings()


SEED = Setting(
    "seed", int, None, low=-1, high=checks.MAX_SEED, check_value=lambda name, value: checks.seed(value, name),
    help=("Seed: the same seed gives the same output (-1 or none: a random one, recorded)",
          "Graine : la même graine donne le même résultat (-1 ou rien : tirée au hasard, notée)"),
)
