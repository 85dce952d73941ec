"""A partner's uploaded logo, checked before it is stored: a PNG, JPEG or WebP that Pillow decodes
within the limits, re-encoded without its metadata; or an SVG parsed without DTDs, entities or
external references and rebuilt from an allowlist of elements and attributes. Pure functions of
the uploaded bytes: storing is the services', serving the views', which always send LOGO_CSP (a
sandbox that fetches and runs nothing) so that whatever the sanitiser might miss stays inert
even when the logo's address is opened by itself.
"""

from __future__ import annotations

import io
import re
import threading
import unicodedata
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from xml.etree import ElementTree

import defusedxml
import defusedxml.ElementTree
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageFile, ImageOps, JpegImagePlugin, UnidentifiedImageError

from community.core.errors import DomainError

__all__ = [
    "LOGO_CSP",
    "MAX_LOGO_BYTES",
    "MAX_LOGO_SIDE",
    "MAX_STORED_BYTES",
    "MAX_SVG_DEPTH",
    "MAX_SVG_ELEMENTS",
    "MEDIA_TYPES",
    "MIN_LOGO_SIDE",
    "CheckedLogo",
    "check_logo",
]

FIELD = "logo"
MAX_LOGO_BYTES = 2 * 1024 * 1024
# What is stored may be larger than what was uploaded (a lossy image saved again at a higher
# quality, an SVG's class rules written out on each element), within reason.
MAX_STORED_BYTES = 2 * MAX_LOGO_BYTES
MIN_LOGO_SIDE = 16  # pixels, for a width and for a height
MAX_LOGO_SIDE = 4000
# A logo drawn by a designer nests a few groups deep and has hundreds of elements, a traced one
# a few thousand. The depth also keeps the rebuilding and ElementTree's recursive serialiser far
# from Python's recursion limit, and the count keeps every visitor's browser from a heavy page.
MAX_SVG_DEPTH = 48
MAX_SVG_ELEMENTS = 20_000

# Served with every logo: nothing may be fetched or run (default-src 'none', sandbox), but the
# inline styles an SVG's own rendering may need are allowed.
LOGO_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"

MEDIA_TYPES = ("image/png", "image/jpeg", "image/webp", "image/svg+xml")
_PILLOW_FORMATS = ("PNG", "JPEG", "WEBP")
# Pillow calls a JPEG carrying several pictures (a camera's MPO) by another name.
_MEDIA_TYPE_OF_FORMAT = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "WEBP": "image/webp",
}
# The first bytes of the accepted raster types: only to tell a damaged one from another type in
# the message. Whether a file is one of them is Pillow's to say, by decoding it.
_RASTER_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")


@dataclass(frozen=True)
class CheckedLogo:
    """A logo fit to store and serve: its bytes as we produced them, their media type, and, for a
    raster image, its size in pixels (None for an SVG, which scales)."""

    content: bytes
    media_type: str
    width: int | None
    height: int | None


def check_logo(content: bytes, filename: str | None = None) -> CheckedLogo:
    """The logo to store for an uploaded file, or DomainError on `logo` saying what is accepted.

    The type is decided by the content alone: `filename` (what the browser sent) is taken only so
    that callers may pass it, and never consulted; a PNG called logo.jpg is a PNG."""
    content = bytes(content or b"")
    if not content:
        raise DomainError(
            _l(
                "The logo file is empty. Upload a PNG, JPEG, WebP or SVG file of at most"
                " %(megabytes)d MB.",
                megabytes=_megabytes(),
            ),
            field=FIELD,
        )
    if len(content) > MAX_LOGO_BYTES:
        raise DomainError(
            _l(
                "This file is larger than %(megabytes)d MB. Upload a logo of at most"
                " %(megabytes)d MB as PNG, JPEG, WebP or SVG.",
                megabytes=_megabytes(),
            ),
            field=FIELD,
        )
    logo = _checked_raster(content)
    if logo is None:
        if not _looks_like_xml(content):
            raise _not_accepted()
        logo = _checked_svg(content)
    if len(logo.content) > MAX_STORED_BYTES:
        raise DomainError(
            _l(
                "This logo grows too large once it is cleaned and saved again. Upload an image"
                " with fewer pixels, or a simpler SVG."
            ),
            field=FIELD,
        )
    return logo


# --- PNG, JPEG, WebP -----------------------------------------------------------------------------


def _checked_raster(content: bytes) -> CheckedLogo | None:
    """The re-encoded image, or None when Pillow reads none of the accepted types in `content`."""
    try:
        with _strict_pillow():
            with Image.open(io.BytesIO(content), formats=_PILLOW_FORMATS) as image:
                _check_dimensions(*image.size)
                image.verify()
            # verify() leaves the image unusable, and does not decode the pixels: a truncated
            # file passes it, and fails only when loaded.
            with Image.open(io.BytesIO(content), formats=_PILLOW_FORMATS) as image:
                image.load()
                return _reencoded(image, lossless=_is_lossless_webp(content))
    except DomainError:
        raise
    except UnidentifiedImageError:
        if content.startswith(_RASTER_SIGNATURES) or _is_webp(content):
            raise _damaged() from None
        return None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DomainError(
            _l(
                "This image would be far too large once decoded. A logo is between %(smallest)d"
                " and %(largest)d pixels wide and high.",
                smallest=MIN_LOGO_SIDE,
                largest=MAX_LOGO_SIDE,
            ),
            field=FIELD,
        ) from None
    # A hostile file can make a decoder raise almost anything (OSError, SyntaxError, ValueError,
    # struct.error, EOFError, zlib.error …): each is a file we cannot read, never a 500.
    except Exception:
        raise _damaged() from None


# One check at a time in a process: _strict_pillow changes settings of the whole process.
_STRICT = threading.Lock()


@contextmanager
def _strict_pillow():
    """Pillow as strict as a check needs, whatever the rest of the process has asked of it.

    Truncated images fail: WeasyPrint, once imported (for the first invoice a process renders),
    sets ImageFile.LOAD_TRUNCATED_IMAGES for the whole process, and a JPEG cut in half would then
    load with its missing half grey. Restored afterwards; a PDF rendered in another thread
    meanwhile would lose only an image that is truncated anyway.

    Pillow's warnings (a decompression bomb, a malformed APNG or MPO) are raised, so that they
    refuse the file rather than escape into the log (or, in the tests, fail them). Only Pillow's
    own: catch_warnings changes the filters of the whole process while it runs, and another
    thread's warnings must stay what they were. Were a thread race to undo this filter, nothing
    would be let through: the dimensions are checked as soon as the header is read."""
    with _STRICT, warnings.catch_warnings():
        warnings.filterwarnings("error", module=r"PIL(\.|$)")
        lenient = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            yield
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = lenient


def _check_dimensions(width: int, height: int) -> None:
    if not (MIN_LOGO_SIDE <= width <= MAX_LOGO_SIDE and MIN_LOGO_SIDE <= height <= MAX_LOGO_SIDE):
        raise DomainError(
            _l(
                "This image is %(width)d × %(height)d pixels. A logo is between %(smallest)d and"
                " %(largest)d pixels wide and high.",
                width=width,
                height=height,
                smallest=MIN_LOGO_SIDE,
                largest=MAX_LOGO_SIDE,
            ),
            field=FIELD,
        )


def _reencoded(image: Image.Image, *, lossless: bool) -> CheckedLogo:
    """The decoded pixels encoded again, in the type they came in.

    Re-encoding rather than keeping the uploaded bytes: metadata is gone (EXIF with a phone's GPS
    position, XMP, text chunks, a thumbnail), so is anything appended after the image (an HTML or
    ZIP polyglot), and the browsers of everyone who sees the sponsors' wall decode bytes made by
    our encoder rather than bytes crafted against their decoder (libwebp's CVE-2023-4863 was
    exploited through such images). It costs at most a second or so for a 4000 × 4000 image, for
    a file uploaded once a year. The ICC profile is kept: without it a brand's colours shift."""
    source_format = image.format or ""
    media_type = _MEDIA_TYPE_OF_FORMAT[source_format]
    icc_profile = image.info.get("icc_profile")
    # The same quantisation tables keep a JPEG as sharp and as small as it came (quality="keep"
    # would too, but only for an image that is still the JPEG as opened, not one turned upright).
    quantization = getattr(image, "quantization", None)
    subsampling = JpegImagePlugin.get_sampling(image) if source_format in {"JPEG", "MPO"} else -1
    # The EXIF orientation goes with the EXIF: the pixels are turned to match it instead.
    upright = _upright(image)
    # What Pillow's encoders would copy from the source unasked (a JPEG's comment, among
    # others, in Pillow 12): only a colour-key or palette transparency, which is the picture's,
    # is kept.
    upright.info = {key: value for key, value in upright.info.items() if key == "transparency"}
    output = io.BytesIO()
    options: dict = {"icc_profile": icc_profile} if icc_profile else {}
    if media_type == "image/png":
        if upright.mode not in {"1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"}:
            upright = upright.convert("RGBA")
        upright.save(output, "PNG", **options)
    elif media_type == "image/jpeg":
        if upright.mode not in {"L", "RGB", "CMYK"}:
            upright = upright.convert("RGB")
        if quantization:
            options.update(qtables=quantization, subsampling=subsampling)
        else:
            options.update(quality=90)
        upright.save(output, "JPEG", **options)
    else:
        if upright.mode not in {"RGB", "RGBA"}:
            upright = upright.convert("RGBA")
        upright.save(output, "WEBP", lossless=lossless, quality=90, **options)
    return CheckedLogo(output.getvalue(), media_type, upright.width, upright.height)


def _upright(image: Image.Image) -> Image.Image:
    """The image turned as its EXIF orientation says. EXIF that cannot be read is ignored
    rather than refused: a logo is not refused for a camera's broken metadata."""
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", module=r"PIL(\.|$)")
            turned = ImageOps.exif_transpose(image)
    except Exception:
        return image
    return image if turned is None else turned


def _is_webp(content: bytes) -> bool:
    return content[:4] == b"RIFF" and content[8:12] == b"WEBP"


def _is_lossless_webp(content: bytes) -> bool:
    """True for a WebP whose (first) picture is lossless, a VP8L chunk: re-encoded lossy, a flat
    logo's edges would blur; a lossy one re-encoded lossless would grow many times over."""
    if not _is_webp(content):
        return False
    position = 12
    while position + 8 <= len(content):
        kind = content[position : position + 4]
        size = int.from_bytes(content[position + 4 : position + 8], "little")
        if kind in {b"VP8 ", b"VP8L"}:
            return kind == b"VP8L"
        if kind == b"ANMF":
            # An animated WebP's frame: 16 bytes of its own header, then its picture's chunks.
            position += 8 + 16
            continue
        position += 8 + size + size % 2
    return False


# --- SVG -----------------------------------------------------------------------------------------

SVG_NAMESPACE = "http://www.w3.org/2000/svg"
_XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
_XML_NAMESPACE = "http://www.w3.org/XML/1998/namespace"

# Everything drawn, and what it is drawn with. Not here, so dropped with all they hold: script,
# foreignObject, iframe, image (it can only point outside, or hold a data: URL), a (but see
# _UNWRAPPED), animate, set and the other animations (they can set an href), filters (feImage
# fetches), style (see _class_rules), metadata and every element outside the SVG namespace.
_ALLOWED_ELEMENTS = frozenset(
    {
        "svg",
        "g",
        "defs",
        "symbol",
        "use",
        "title",
        "desc",
        "path",
        "rect",
        "circle",
        "ellipse",
        "line",
        "polyline",
        "polygon",
        "text",
        "tspan",
        "linearGradient",
        "radialGradient",
        "stop",
        "clipPath",
        "mask",
        "pattern",
    }
)
# Dropped themselves, their content kept: a link's shapes are still the logo, and Illustrator
# wraps a whole drawing in a <switch> beside a <foreignObject>.
_UNWRAPPED = frozenset({"a", "switch"})
_DRAWN = frozenset(
    {"path", "rect", "circle", "ellipse", "line", "polyline", "polygon", "text", "use"}
)
_TEXT_BEARING = frozenset({"text", "tspan", "title", "desc"})
# Same-document references only, and only where SVG follows them: a <use> to its symbol, a
# gradient or pattern to another whose stops or tiles it takes.
_HREF_ELEMENTS = frozenset({"use", "linearGradient", "radialGradient", "pattern"})

# The presentation properties, allowed as attributes and, read from a style attribute or a
# class rule, turned into attributes (so nothing is left for CSS to do).
_PRESENTATION = frozenset(
    {
        "alignment-baseline",
        "baseline-shift",
        "clip-path",
        "clip-rule",
        "color",
        "color-interpolation",
        "display",
        "dominant-baseline",
        "fill",
        "fill-opacity",
        "fill-rule",
        "font-family",
        "font-size",
        "font-stretch",
        "font-style",
        "font-variant",
        "font-weight",
        "letter-spacing",
        "mask",
        "opacity",
        "paint-order",
        "shape-rendering",
        "stop-color",
        "stop-opacity",
        "stroke",
        "stroke-dasharray",
        "stroke-dashoffset",
        "stroke-linecap",
        "stroke-linejoin",
        "stroke-miterlimit",
        "stroke-opacity",
        "stroke-width",
        "text-anchor",
        "text-decoration",
        "text-rendering",
        "vector-effect",
        "visibility",
        "word-spacing",
        "writing-mode",
    }
)
_GEOMETRY = frozenset(
    {
        "id",
        "x",
        "y",
        "x1",
        "y1",
        "x2",
        "y2",
        "cx",
        "cy",
        "r",
        "rx",
        "ry",
        "fx",
        "fy",
        "fr",
        "width",
        "height",
        "d",
        "pathLength",
        "points",
        "transform",
        "viewBox",
        "preserveAspectRatio",
        "version",
        "dx",
        "dy",
        "rotate",
        "textLength",
        "lengthAdjust",
        "offset",
        "gradientUnits",
        "gradientTransform",
        "spreadMethod",
        "patternUnits",
        "patternContentUnits",
        "patternTransform",
        "clipPathUnits",
        "maskUnits",
        "maskContentUnits",
    }
)
_ALLOWED_ATTRIBUTES = _PRESENTATION | _GEOMETRY
_XML_ATTRIBUTES = frozenset({"space", "lang"})

# What an attribute value may hold: no colon (so no scheme, javascript: or data: among them), no
# backslash (a CSS escape could spell url( or a scheme), nothing that opens a tag, a block or an
# at-rule. Letters include other scripts', for a font called ヒラギノ角ゴ.
_SAFE_VALUE = re.compile(r"[\w\s#%(),.+\-/'\"!&]*")
_FUNCTION = re.compile(r"([A-Za-z_-]+)\s*\(")
# Colours, and a transform's steps; url() only as url(#id).
_COLOUR_FUNCTIONS = frozenset({"rgb", "rgba", "hsl", "hsla"})
_TRANSFORM_FUNCTIONS = frozenset({"matrix", "translate", "scale", "rotate", "skewx", "skewy"})
_ALLOWED_FUNCTIONS = _COLOUR_FUNCTIONS | _TRANSFORM_FUNCTIONS | {"url"}
_LOCAL_URL = re.compile(r"url\(\s*(['\"]?)#[\w.-]+\1\s*\)", re.IGNORECASE)
_LOCAL_HREF = re.compile(r"#[\w.-]+")
_DANGEROUS_SCHEMES = ("javascript:", "vbscript:", "data:")
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
# An at-rule ending in a semicolon (@import, @charset, @namespace), not a block (@media).
_AT_STATEMENT = re.compile(r"@[^{};]*;")
_CLASS_SELECTOR = re.compile(r"\.([\w-]+)")
_PLAIN_SVG_DOCTYPE = re.compile(
    rb'<!DOCTYPE\s+svg\s+PUBLIC\s+"-//W3C//DTD SVG [0-9.]+( Basic| Tiny)?//EN"'
    rb'(\s+"http://www\.w3\.org/Graphics/SVG/[0-9.]+/DTD/[\w.-]+\.dtd")?\s*>'
)
_DOCTYPE_NAME = re.compile(rb"<!DOCTYPE\s+([^\s\[>]+)", re.IGNORECASE)


def _looks_like_xml(content: bytes) -> bool:
    """True when `content` begins as XML or HTML would (after a byte order mark and spaces):
    worth parsing as an SVG, and worth a message about SVG if it is not one."""
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    return content.removeprefix(b"\xef\xbb\xbf").lstrip()[:1] == b"<"


def _checked_svg(content: bytes) -> CheckedLogo:
    # Older exporters (Illustrator among them) write SVG 1.1's public DOCTYPE. It names a DTD
    # that no parser here fetches and declares nothing: blanked, so that such a logo is taken,
    # while any other DOCTYPE (an internal subset, entities) still meets forbid_dtd.
    content = _PLAIN_SVG_DOCTYPE.sub(lambda match: b" " * len(match[0]), content, count=1)
    try:
        root = defusedxml.ElementTree.fromstring(
            content, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except defusedxml.DefusedXmlException:
        doctype = _DOCTYPE_NAME.search(content[:1024])
        if doctype is not None and doctype[1].lower() != b"svg":
            raise _not_accepted() from None  # an HTML page, most likely
        raise DomainError(
            _l(
                "This SVG declares a DOCTYPE or entities, which are not accepted. Export it"
                " again as plain SVG, or upload the logo as PNG, JPEG or WebP."
            ),
            field=FIELD,
        ) from None
    except (ElementTree.ParseError, ValueError, LookupError):
        raise DomainError(
            _l(
                "This file is not a well-formed SVG. Upload the logo as a valid SVG, or as PNG,"
                " JPEG or WebP, of at most %(megabytes)d MB.",
                megabytes=_megabytes(),
            ),
            field=FIELD,
        ) from None
    if root.tag != f"{{{SVG_NAMESPACE}}}svg":
        raise DomainError(
            _l(
                "This XML file is not an SVG image: its root must be an <svg> element in the SVG"
                ' namespace (xmlns="http://www.w3.org/2000/svg"). Upload an SVG, PNG, JPEG or'
                " WebP logo."
            ),
            field=FIELD,
        )
    _check_complexity(root)
    clean = _sanitised(root)
    if not any(element.tag in _DRAWN for element in clean.iter()):
        raise DomainError(
            _l(
                "Nothing of this SVG is left to show once its scripts, embedded images and"
                " external references are removed. Upload the logo as PNG, JPEG or WebP, or as"
                " an SVG of plain shapes and text."
            ),
            field=FIELD,
        )
    # The SVG namespace as the default one, written by hand on the root: ElementTree's
    # register_namespace() would change how the whole process writes that namespace.
    clean.set("xmlns", SVG_NAMESPACE)
    return CheckedLogo(
        ElementTree.tostring(clean, encoding="UTF-8", xml_declaration=True),
        "image/svg+xml",
        None,
        None,
    )


def _check_complexity(root: ElementTree.Element) -> None:
    count = 0
    pending = [(root, 1)]
    while pending:
        element, depth = pending.pop()
        count += 1
        if depth > MAX_SVG_DEPTH or count > MAX_SVG_ELEMENTS:
            raise _too_complex()
        pending.extend((child, depth + 1) for child in element)


def _sanitised(root: ElementTree.Element) -> ElementTree.Element:
    """A new tree holding only what is allowed of `root`'s, with un-namespaced tags (the caller
    makes SVG the default namespace). Comments and processing instructions (an
    <?xml-stylesheet?>) never reach it: ElementTree's parser drops them."""
    rules = _class_rules(root)
    clean = ElementTree.Element("svg", _allowed_attributes(root, rules))
    # Iterative, in document order: (source element, the clean parent of what it becomes) for an
    # element, (None, parent, text) for the text that follows an element inside its parent.
    pending: list[tuple[ElementTree.Element | None, ElementTree.Element, str | None]] = [
        (child, clean, None) for child in reversed(root)
    ]
    if root.text:
        _append_text(clean, root.text)
    while pending:
        element, parent, text = pending.pop()
        if element is None:
            _append_text(parent, text)
            continue
        if element.tail:
            pending.append((None, parent, element.tail))
        name = _svg_name(element.tag)
        if name in _UNWRAPPED:
            if element.text:
                _append_text(parent, element.text)
            pending.extend((child, parent, None) for child in reversed(element))
        elif name in _ALLOWED_ELEMENTS:
            kept = ElementTree.SubElement(parent, name, _allowed_attributes(element, rules))
            if element.text:
                _append_text(kept, element.text)
            pending.extend((child, kept, None) for child in reversed(element))
    _check_uses(clean)
    return clean


def _svg_name(tag) -> str | None:
    """The local name of an element in the SVG namespace; None for anything else (an element of
    another namespace, a comment)."""
    if isinstance(tag, str) and tag.startswith(f"{{{SVG_NAMESPACE}}}"):
        return tag[len(SVG_NAMESPACE) + 2 :]
    return None


def _append_text(parent: ElementTree.Element, text: str | None) -> None:
    """`text` at the end of `parent`'s content, where it shows (in text, a title); elsewhere
    it is the source's indentation, or something no renderer shows."""
    if not text or parent.tag not in _TEXT_BEARING:
        return
    if len(parent):
        parent[-1].tail = (parent[-1].tail or "") + text
    else:
        parent.text = (parent.text or "") + text


def _allowed_attributes(element: ElementTree.Element, rules) -> dict[str, str]:
    """The attributes to keep. A property set in CSS outranks the same presentation attribute,
    and the element's own style attribute outranks its classes' rules, as in a browser."""
    kept: dict[str, str] = {}
    href = None
    for attribute, value in element.attrib.items():
        if attribute in {"href", _XLINK_HREF}:
            # SVG 2 prefers href to xlink:href when both are there; the output has only href.
            if href is None or attribute == "href":
                href = value
        elif attribute.startswith(f"{{{_XML_NAMESPACE}}}"):
            if attribute[len(_XML_NAMESPACE) + 2 :] in _XML_ATTRIBUTES and _is_safe(value):
                kept[attribute] = value
        elif attribute in _ALLOWED_ATTRIBUTES and _is_safe(value):
            kept[attribute] = value
    # Of the rules for its classes, the last in the style sheet wins each property.
    matched: dict[str, tuple[int, str]] = {}
    for name in rules.keys() & set(element.get("class", "").split()):
        for property_name, (order, value) in rules[name].items():
            if order > matched.get(property_name, (-1, ""))[0]:
                matched[property_name] = (order, value)
    kept.update((property_name, value) for property_name, (_, value) in matched.items())
    kept.update(_declarations(element.get("style", "")))
    name = _svg_name(element.tag)
    if (
        href is not None
        and name in _HREF_ELEMENTS
        and _LOCAL_HREF.fullmatch(href.strip())
        and _is_safe(href)
    ):
        kept["href"] = href.strip()
    return kept


def _class_rules(root: ElementTree.Element) -> dict[str, dict[str, tuple[int, str]]]:
    """The rules of the SVG's <style> elements that name a single class (.cls-1 {fill: #e60012}):
    what Illustrator writes when it exports with internal CSS. For each class, each property's
    last value and the position of its rule in the style sheets. Anything else (other selectors,
    at-rules such as @import or @media) is ignored, and the <style> itself dropped.

    Folded by class, so that applying them costs the same for a thousand rules as for one: an
    element looks up its classes, never the list of rules."""
    rules: dict[str, dict[str, tuple[int, str]]] = {}
    order = 0
    for style in root.iter(f"{{{SVG_NAMESPACE}}}style"):
        css = _AT_STATEMENT.sub("", _CSS_COMMENT.sub("", style.text or ""))
        for block in css.split("}"):
            selectors, brace, body = block.partition("{")
            if not brace or "@" in selectors or "{" in body:
                continue
            declarations = _declarations(body)
            if not declarations:
                continue
            order += 1
            for selector in selectors.split(","):
                match = _CLASS_SELECTOR.fullmatch(selector.strip())
                if match:
                    properties = rules.setdefault(match[1], {})
                    for property_name, value in declarations.items():
                        properties[property_name] = (order, value)
    return rules


def _declarations(css: str) -> dict[str, str]:
    """The allowed presentation properties of a CSS declaration list, safe values only."""
    kept: dict[str, str] = {}
    for declaration in _CSS_COMMENT.sub("", css).split(";"):
        name, colon, value = declaration.partition(":")
        name = name.strip().lower()
        value = re.sub(r"\s*!\s*important\s*$", "", value.strip(), flags=re.IGNORECASE)
        if colon and name in _PRESENTATION and value and _is_safe(value):
            kept[name] = value
    return kept


def _is_safe(value: str) -> bool:
    """False for a value that could point outside the document or run something: a scheme, a
    url() other than url(#id), a function no presentation value uses, characters CSS or a URL
    parser could read as something else."""
    squeezed = "".join(
        character
        for character in value
        if not (character.isspace() or unicodedata.category(character)[0] == "C")
    ).casefold()
    if any(scheme in squeezed for scheme in _DANGEROUS_SCHEMES):
        return False
    if not _SAFE_VALUE.fullmatch(value):
        return False
    for function in _FUNCTION.finditer(value):
        if function[1].casefold() not in _ALLOWED_FUNCTIONS:
            return False
    urls = len(re.findall(r"url\s*\(", value, flags=re.IGNORECASE))
    return urls == len(_LOCAL_URL.findall(value))


def _check_uses(root: ElementTree.Element) -> None:
    """Removes every <use> whose target holds a <use>, or is one, and refuses the SVG if its
    uses would draw more than MAX_SVG_ELEMENTS elements: uses of uses multiply (ten of ten of
    ten … is a billion laughs drawn), a use of its own ancestor never ends, and a thousand uses
    of a thousand shapes are a million for every visitor's browser to draw."""
    by_id: dict[str, ElementTree.Element] = {}
    for element in root.iter():
        # A browser follows a reference to the first element with the id.
        by_id.setdefault(element.get("id", ""), element)
    parents = {child: parent for parent in root.iter() for child in parent}
    sizes: dict[str, int | None] = {}  # per target: elements drawn, None if it holds a use
    drawn = len(parents) + 1
    for use in list(root.iter("use")):
        target_id = use.get("href", "")[1:]
        if not target_id:
            parents[use].remove(use)
            continue
        if target_id not in sizes:
            target = by_id.get(target_id)
            subtree = [] if target is None else list(target.iter())
            nested = any(element.tag == "use" for element in subtree)
            sizes[target_id] = None if nested else len(subtree)
        size = sizes[target_id]
        if size is None:
            parents[use].remove(use)
            continue
        drawn += size
        if drawn > MAX_SVG_ELEMENTS:
            raise _too_complex()


# --- messages ------------------------------------------------------------------------------------


def _megabytes() -> int:
    return MAX_LOGO_BYTES // (1024 * 1024)


def _not_accepted() -> DomainError:
    return DomainError(
        _l(
            "This file is not a PNG, JPEG, WebP or SVG image. Upload the logo in one of these"
            " formats, at most %(megabytes)d MB, between %(smallest)d and %(largest)d pixels"
            " wide and high.",
            megabytes=_megabytes(),
            smallest=MIN_LOGO_SIDE,
            largest=MAX_LOGO_SIDE,
        ),
        field=FIELD,
    )


def _too_complex() -> DomainError:
    return DomainError(
        _l(
            "This SVG is too complex for a logo (more than %(elements)d elements, or nested more"
            " than %(depth)d deep). Simplify it, or upload the logo as PNG, JPEG or WebP.",
            elements=MAX_SVG_ELEMENTS,
            depth=MAX_SVG_DEPTH,
        ),
        field=FIELD,
    )


def _damaged() -> DomainError:
    return DomainError(
        _l(
            "This image could not be read: the file seems damaged or incomplete. Save it again"
            " and upload it as PNG, JPEG, WebP or SVG."
        ),
        field=FIELD,
    )
