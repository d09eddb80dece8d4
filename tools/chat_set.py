"""The draw plumbing chat sets 6 and 7 share: a set's forms, its text prompts and its split."""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import make_chat  # noqa: E402


class ChatSet:
    """One instruction set (``tag``): its held-out forms, its math forms (``math_form(form, r)``
    gives (topic, prompt, exact answer)), its text forms (group -> form -> (phrasings, the
    name of a list in ``lists``)), the second slots ``extra`` fills, and the ``snippet`` forms
    whose (language, code) item follows the phrasing, fenced."""

    def __init__(self, tag: str, held: dict, math: tuple, math_form, text: dict, lists: tuple,
                 extra: dict, snippet: tuple, fence: dict):  # fmt: skip
        self.tag, self.held, self.math, self.math_form, self.text = tag, held, math, math_form, text
        self.lists, self.extra, self.snippet, self.fence = lists, extra, snippet, fence

    def items(self, name: str) -> tuple:
        """The slot list ``name``, from the first of ``lists`` that has it."""
        return next(getattr(m, name) for m in self.lists if getattr(m, name, None))

    def text_form(self, group: str, form: str, r: random.Random) -> dict:
        """One prompt of a code, knowledge or writing ``form``: a phrasing and its slot item(s)."""
        phrasings, name = self.text[group][form]
        t, s = r.choice(phrasings), r.choice(self.items(name))
        extra = {}
        if form in self.extra:
            key, choices = self.extra[form]
            extra[key] = r.choice(choices)
        if form in self.snippet:
            lang, code = s
            fence = self.fence.get(lang, lang.lower())
            prompt = t.format(lang=lang) + f"\n\n```{fence}\n{code}\n```"
            return {"prompt": prompt, "topic": code.splitlines()[0], "lang": lang}
        topic = s if isinstance(s, str) else " / ".join(s)
        return {"prompt": t.format(s=s, **extra), "topic": topic[:60], **extra}

    def forms(self, group: str) -> tuple[str, ...]:
        return self.math if group == "math" else tuple(self.text[group])

    def draw(self, group: str, form: str, r: random.Random) -> dict:
        """One prompt row of ``group`` and ``form`` (without its split); math's exact ``answer``."""
        if group == "math":
            topic, prompt, answer = self.math_form(form, r)
            return {"prompt": prompt, "topic": topic, "answer": answer}
        return self.text_form(group, form, r)

    def is_held(self, row: dict) -> bool:
        return row["form"] in self.held[row["group"]]

    def prompts(self, n: int = 400, valid: int = 60, seed: int = 0) -> list[dict]:
        """``n`` training and ``valid`` validation prompts per group, seeded (``tag``), each
        prompt once; validation draws the held-out forms only, training every other form."""
        return make_chat.fill(n, valid, seed, self.tag, self.forms, self.draw, self.is_held)


if __name__ == "__main__":  # `--help`: a module for make_chat6.py and make_chat7.py
    import argparse

    argparse.ArgumentParser(description=__doc__).parse_args()
