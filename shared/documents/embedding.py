"""Fonts for the renderer, fast and byte-stable: the kept fonts are parsed once, and each font is
embedded cut to the glyphs a document uses, from a cache by glyph set — cutting and writing fonts
was most of a document's time, and documents use the same few dozen glyphs. The same glyphs
always give the same bytes, warm or cold (a test checks), and the same bytes fpdf2's own
`add_font` path gives."""

import copy
import functools
import io

from fontTools import subset, ttLib
from fpdf import FPDF
from fpdf import output as fpdf_output
from fpdf.fonts import SubsetMap
from fpdf.output import OutputProducer

from shared.documents.labels import FONTS

FONT = "DejaVu"
CUTS_KEPT = 512  # fonts cut to a set of glyphs, kept (a few dozen KB each)


class Output(OutputProducer):
    def _add_fonts(self, *args, **kwargs):
        """Embedding cuts each font down to the glyphs used, and that took most of a document's
        time: each font is cut here first, from a cache by glyph set (documents use the same few
        dozen glyphs), so the cut fpdf2 then makes is of a tiny font. The same glyphs always give
        the same cut, warm or cold, so the bytes do not depend on the cache. Writing that cut
        out is then the larger cost: `_CutFont` keeps what it wrote, by the same key."""
        for style, (parsed, _) in _parsed_fonts().items():
            font = self.fpdf.fonts[parsed.fontkey]
            key = (style, tuple(sorted(font.subset.get_all_glyph_names())))
            font.ttfont = _CutFont(io.BytesIO(_cut(*key)), recalcTimestamp=False)
            font.ttfont.key = key
        return super()._add_fonts(*args, **kwargs)


class _Subsetter(subset.Subsetter):
    """fpdf2's cut of a font it embeds, skipped for a `_CutFont` whose bytes are already kept:
    the cut fpdf2 would make of it keeps every glyph in its order (the font was cut to exactly
    these glyphs), so only the bytes differ, and those are the ones kept."""

    def subset(self, font):
        if isinstance(font, _CutFont) and font.key in font.written:
            return
        super().subset(font)


class _FontTools:
    """What fpdf2's output module knows as `fontTools.subset`, with the subsetter above."""

    Options = subset.Options
    Subsetter = _Subsetter


fpdf_output.ftsubset = _FontTools  # fpdf2 2.8.9 (pinned) cuts fonts through this name only


class _CutFont(ttLib.TTFont):
    """A cut font whose embedded bytes (fpdf2's own cut of it, written out) are kept by glyph set:
    the same glyphs always give the same bytes, so they are written once."""

    written: dict = {}
    key: tuple = ()

    def save(self, file, reorderTables=True):
        data = self.written.get(self.key)
        if data is None:
            out = io.BytesIO()
            super().save(out, reorderTables)
            data = out.getvalue()
            if len(self.written) >= CUTS_KEPT:
                self.written.pop(next(iter(self.written)))
            self.written[self.key] = data
        file.write(data)


@functools.cache
def _parsed_fonts() -> dict:
    """The fonts parsed once ({style: (fpdf's font, the file's bytes)}): parsing them for every
    document took half of its time."""
    scratch = FPDF()
    for style, path in FONTS.items():
        scratch.add_font(FONT, style, str(path))
    return {
        style: (scratch.fonts[f"{FONT.lower()}{style}"], path.read_bytes())
        for style, path in FONTS.items()
    }


def add_fonts(pdf: FPDF) -> None:
    """What `pdf.add_font` does, from the parsed fonts: a copy of each with its own glyph subset
    and its own fontTools font (embedding subsets that one in place)."""
    for parsed, data in _parsed_fonts().values():
        font = copy.copy(parsed)  # widths and glyph ids are only read
        font.ttfont = _ttfont(data)
        font.subset, font.missing_glyphs, font.biggest_size_pt = SubsetMap(font), [], 0
        pdf.fonts[font.fontkey] = font


def _ttfont(data: bytes) -> ttLib.TTFont:
    return ttLib.TTFont(io.BytesIO(data), recalcTimestamp=False, lazy=True)


@functools.lru_cache(maxsize=CUTS_KEPT)
def _cut(style: str, glyph_names: tuple) -> bytes:
    """The font of `style` with only `glyph_names` (and their names kept, which fpdf2 looks up)."""
    options = subset.Options(notdef_outline=True, recommended_glyphs=True, glyph_names=True)
    subsetter = subset.Subsetter(options)
    subsetter.populate(glyphs=glyph_names)
    font = _ttfont(_parsed_fonts()[style][1])
    subsetter.subset(font)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def forget() -> None:
    """Empty the caches of cut fonts (what a new process starts with)."""
    _cut.cache_clear()
    _CutFont.written.clear()
