"""A partner's logo checked before it is stored (sponsorship.logos): PNG, JPEG and WebP decoded
by Pillow within the limits and re-encoded without their metadata, whatever the file is called;
everything else refused with a message saying what is accepted, bombs included, and without a
warning escaping; an SVG parsed without DTDs or entities and rebuilt from an allowlist, keeping
its shapes and nothing that could run or fetch."""

from __future__ import annotations

import io
import random
import struct
import warnings
import zlib

import defusedxml.ElementTree
import pytest
from flask_babel import LazyString
from PIL import Image, ImageFile, PngImagePlugin

from community.core.errors import DomainError
from community.sponsorship import logos
from community.sponsorship.logos import (
    LOGO_CSP,
    MAX_LOGO_BYTES,
    MAX_LOGO_SIDE,
    MAX_SVG_DEPTH,
    MIN_LOGO_SIDE,
    CheckedLogo,
    check_logo,
)
from community.sponsorship.models import LOGO_TYPES

SVG = "{http://www.w3.org/2000/svg}"

NOT_ACCEPTED = (
    "This file is not a PNG, JPEG, WebP or SVG image. Upload the logo in one of these formats,"
    " at most 2 MB, between 16 and 4000 pixels wide and high."
)
DAMAGED = (
    "This image could not be read: the file seems damaged or incomplete. Save it again and"
    " upload it as PNG, JPEG, WebP or SVG."
)
BOMB = (
    "This image would be far too large once decoded. A logo is between 16 and 4000 pixels wide"
    " and high."
)
DOCTYPE = (
    "This SVG declares a DOCTYPE or entities, which are not accepted. Export it again as plain"
    " SVG, or upload the logo as PNG, JPEG or WebP."
)


def encoded(image: Image.Image, kind: str, **options) -> bytes:
    output = io.BytesIO()
    image.save(output, kind, **options)
    return output.getvalue()


def picture(size=(120, 60), mode="RGB", colour="red") -> Image.Image:
    return Image.new(mode, size, colour)


def refusal(content: bytes, filename: str | None = None) -> str:
    with pytest.raises(DomainError) as caught:
        check_logo(content, filename)
    assert caught.value.field == "logo"
    assert isinstance(caught.value.message, LazyString), "messages are translated when shown"
    return str(caught.value)


def reopened(logo: CheckedLogo) -> Image.Image:
    image = Image.open(io.BytesIO(logo.content))
    image.load()
    return image


def with_ihdr_size(png: bytes, width: int, height: int) -> bytes:
    """`png` whose header claims another size, its CRC made right, so that only the size lies."""
    length = struct.unpack(">I", png[8:12])[0]
    chunk = b"IHDR" + struct.pack(">II", width, height) + png[24 : 16 + length]
    crc = struct.pack(">I", zlib.crc32(chunk))
    return png[:12] + chunk + crc + png[16 + length + 4 :]


def svg(body: str, *, attributes: str = 'viewBox="0 0 100 100"', prolog: str = "") -> bytes:
    return (
        f'{prolog}<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'
        f" {attributes}>{body}</svg>"
    ).encode()


def sanitised(content: bytes):
    logo = check_logo(content)
    assert logo.media_type == "image/svg+xml"
    assert logo.width is None and logo.height is None
    # The output parses as strictly as the upload was parsed.
    root = defusedxml.ElementTree.fromstring(logo.content, forbid_dtd=True)
    assert root.tag == f"{SVG}svg"
    return logo, root


def names(root) -> list[str]:
    return [element.tag.removeprefix(SVG) for element in root.iter()]


def every_attribute(root) -> list[tuple[str, str]]:
    return [(name, value) for element in root.iter() for name, value in element.attrib.items()]


# --- PNG, JPEG and WebP --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "media_type", "mode"),
    [("PNG", "image/png", "RGBA"), ("JPEG", "image/jpeg", "RGB"), ("WEBP", "image/webp", "RGB")],
)
def test_png_jpeg_and_webp_are_accepted_with_their_type_and_size(kind, media_type, mode):
    logo = check_logo(encoded(picture(mode=mode), kind), f"logo.{kind.lower()}")
    assert logo == CheckedLogo(logo.content, media_type, 120, 60)
    assert reopened(logo).format == kind
    assert reopened(logo).size == (120, 60)


@pytest.mark.parametrize("filename", ["logo.jpg", "logo.svg", "logo.gif", "logo", None, "../../x"])
def test_the_content_decides_the_type_never_the_file_name(filename):
    logo = check_logo(encoded(picture(), "PNG"), filename)
    assert logo.media_type == "image/png"
    assert reopened(logo).format == "PNG"


def test_a_jpeg_called_png_is_a_jpeg():
    assert check_logo(encoded(picture(), "JPEG"), "logo.png").media_type == "image/jpeg"


@pytest.mark.parametrize("kind", ["GIF", "BMP", "TIFF", "PDF", "ICO", "TGA", "PPM", "JPEG2000"])
def test_other_image_types_are_refused_with_what_is_accepted(kind):
    content = encoded(picture(size=(64, 64)), kind)
    assert refusal(content, "logo.png") == NOT_ACCEPTED


@pytest.mark.parametrize(
    "content",
    [
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n",
        b"PK\x03\x04" + bytes(100),  # a ZIP (and so an Office file)
        b"MZ\x90\x00" + bytes(100),  # a Windows program
        b"#!/bin/sh\nrm -rf /\n",
        b"\x1f\x8b\x08\x00" + bytes(50),  # gzip, as an .svgz is
        "ロゴ".encode(),
    ],
)
def test_files_that_are_no_image_are_refused_with_what_is_accepted(content):
    assert refusal(content, "logo.png") == NOT_ACCEPTED


def test_random_bytes_are_refused():
    noise = random.Random(7).randbytes(50_000)
    assert refusal(noise) == NOT_ACCEPTED


def test_an_empty_file_is_refused():
    assert refusal(b"", "logo.png") == (
        "The logo file is empty. Upload a PNG, JPEG, WebP or SVG file of at most 2 MB."
    )


@pytest.mark.parametrize(
    "size", [(15, 100), (100, 15), (1, 1), (4001, 100), (100, 4001), (5000, 5000)]
)
def test_an_image_outside_the_dimensions_is_refused_with_its_size_and_the_limits(size):
    # A 5000 × 5000 header passes Pillow's own bomb limit: it is refused by ours, before decoding.
    content = with_ihdr_size(encoded(picture(size=(20, 20)), "PNG"), *size)
    assert refusal(content) == (
        f"This image is {size[0]} × {size[1]} pixels. A logo is between 16 and 4000 pixels wide"
        " and high."
    )


def test_a_real_image_too_small_is_refused_too():
    assert "8 × 8 pixels" in refusal(encoded(picture(size=(8, 8)), "JPEG"))


@pytest.mark.parametrize(
    "size",
    [
        (MIN_LOGO_SIDE, MIN_LOGO_SIDE),
        (MAX_LOGO_SIDE, MIN_LOGO_SIDE),
        (MIN_LOGO_SIDE, MAX_LOGO_SIDE),
        (MAX_LOGO_SIDE, MAX_LOGO_SIDE),
    ],
)
def test_the_dimension_limits_themselves_are_accepted(size):
    logo = check_logo(encoded(picture(size=size), "PNG"))
    assert (logo.width, logo.height) == size


def test_a_file_larger_than_the_byte_limit_is_refused_before_it_is_read():
    noise = random.Random(1).randbytes(1000 * 750 * 3)
    content = encoded(Image.frombytes("RGB", (1000, 750), noise), "PNG")
    assert len(content) > MAX_LOGO_BYTES
    assert refusal(content) == (
        "This file is larger than 2 MB. Upload a logo of at most 2 MB as PNG, JPEG, WebP or SVG."
    )
    assert "larger than 2 MB" in refusal(b"<svg" + b" " * MAX_LOGO_BYTES)


def test_a_file_of_exactly_the_byte_limit_is_accepted():
    png = encoded(picture(), "PNG")
    padded = png + bytes(MAX_LOGO_BYTES - len(png))
    assert len(padded) == MAX_LOGO_BYTES
    assert check_logo(padded).media_type == "image/png"


@pytest.mark.parametrize("kind", ["PNG", "JPEG", "WEBP"])
def test_a_truncated_image_is_refused_as_damaged(kind):
    noise = random.Random(3).randbytes(200 * 200 * 3)
    content = encoded(Image.frombytes("RGB", (200, 200), noise), kind)
    assert refusal(content[: len(content) // 2]) == DAMAGED


@pytest.mark.parametrize("kind", ["PNG", "JPEG", "WEBP"])
def test_a_truncated_image_is_refused_even_when_the_process_loads_truncated_images(
    kind, monkeypatch
):
    # WeasyPrint sets this for the whole process when it is first imported (the first invoice).
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    noise = random.Random(3).randbytes(200 * 200 * 3)
    content = encoded(Image.frombytes("RGB", (200, 200), noise), kind)
    assert refusal(content[: len(content) // 2]) == DAMAGED
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True, "the process's setting is given back"
    assert check_logo(content).media_type == f"image/{kind.lower()}"
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True


def test_a_png_whose_data_does_not_match_its_checksum_is_refused_as_damaged():
    content = bytearray(encoded(picture(), "PNG"))
    data_at = content.index(b"IDAT") + 6
    content[data_at] ^= 0xFF
    assert refusal(bytes(content)) == DAMAGED


def test_a_png_cut_inside_its_header_is_refused_as_damaged():
    assert refusal(encoded(picture(), "PNG")[:20]) == DAMAGED


@pytest.mark.parametrize("size", [(100_000, 100_000), (20_000, 20_000), (10_000, 10_000)])
def test_a_decompression_bomb_is_refused_clearly(size):
    # A 1 × 1 PNG whose header claims a huge size: Pillow raises DecompressionBombError beyond
    # twice its limit, and only warns between once and twice it (10,000², with the tests'
    # warnings as errors): both are a clear refusal.
    bomb = with_ihdr_size(encoded(picture(size=(1, 1)), "PNG"), *size)
    assert len(bomb) < 100
    assert refusal(bomb) == BOMB


def test_a_decompression_bomb_lets_no_warning_escape_when_warnings_are_not_errors():
    bomb = with_ihdr_size(encoded(picture(size=(1, 1)), "PNG"), 10_000, 10_000)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # as in production: warnings printed, not raised
        assert refusal(bomb) == BOMB
    assert caught == []


def test_a_large_single_colour_image_that_compresses_to_little_is_refused_before_decoding():
    content = encoded(picture(size=(MAX_LOGO_SIDE + 1, MAX_LOGO_SIDE + 1)), "PNG", optimize=True)
    assert len(content) < 100_000
    assert "4001 × 4001 pixels" in refusal(content)


def test_the_refusal_of_a_bomb_leaves_pillows_own_limit_as_it_was():
    before = Image.MAX_IMAGE_PIXELS
    refusal(with_ihdr_size(encoded(picture(size=(1, 1)), "PNG"), 100_000, 100_000))
    assert before == Image.MAX_IMAGE_PIXELS


def test_exif_and_its_gps_position_are_not_kept():
    exif = Image.Exif()
    exif[0x010E] = "taken at the director's home"  # ImageDescription
    exif[0x8825] = {1: "N", 2: (35.0, 39.0, 29.0), 3: "E", 4: (139.0, 44.0, 28.0)}  # GPS
    content = encoded(picture(), "JPEG", exif=exif, comment=b"made on a secret laptop")
    logo = check_logo(content)
    image = reopened(logo)
    assert "exif" not in image.info and "comment" not in image.info
    assert dict(image.getexif()) == {}
    assert b"director" not in logo.content and b"secret laptop" not in logo.content


def test_the_exif_orientation_is_applied_to_the_pixels_before_it_is_dropped():
    exif = Image.Exif()
    exif[0x0112] = 6  # turned 90° clockwise to be viewed
    logo = check_logo(encoded(picture(size=(120, 60)), "JPEG", exif=exif))
    assert (logo.width, logo.height) == (60, 120)
    assert reopened(logo).size == (60, 120)


def test_png_text_chunks_and_anything_after_the_image_are_not_kept():
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "<script>alert(1)</script>")
    info.add_itxt("Author", "ロゴの作者", lang="ja")
    polyglot = encoded(picture(), "PNG", pnginfo=info) + b"<html><script>alert(2)</script></html>"
    logo = check_logo(polyglot)
    assert b"script" not in logo.content and b"html" not in logo.content
    assert "Comment" not in reopened(logo).info
    assert logo.content.endswith(b"IEND\xaeB`\x82")


def test_a_palette_png_keeps_its_transparency():
    image = Image.new("P", (32, 32), 0)
    image.putpalette([255, 255, 255, 200, 0, 0] + [0] * 762)
    image.paste(1, (8, 8, 24, 24))
    logo = check_logo(encoded(image, "PNG", transparency=0))
    again = reopened(logo)
    assert again.mode == "P"
    assert again.convert("RGBA").getpixel((0, 0))[3] == 0
    assert again.convert("RGBA").getpixel((16, 16)) == (200, 0, 0, 255)


def test_an_icc_profile_is_kept_so_that_colours_do_not_shift():
    profile = b"\x00" * 128 + b"not a real profile, but carried as it came"
    logo = check_logo(encoded(picture(), "PNG", icc_profile=profile))
    assert reopened(logo).info.get("icc_profile") == profile


def test_a_cmyk_jpeg_stays_cmyk_with_its_colours():
    logo = check_logo(encoded(Image.new("CMYK", (40, 40), (0, 255, 255, 0)), "JPEG"))
    image = reopened(logo)
    assert image.mode == "CMYK"
    red, green, blue = image.convert("RGB").getpixel((20, 20))
    assert red > 240 and green < 15 and blue < 15


def test_a_jpeg_keeps_its_quality():
    noise = random.Random(5).randbytes(100 * 100 * 3)
    original = encoded(Image.frombytes("RGB", (100, 100), noise), "JPEG", quality=40)
    logo = check_logo(original)
    assert reopened(logo).quantization == Image.open(io.BytesIO(original)).quantization
    assert len(logo.content) < len(original) * 1.2


@pytest.mark.parametrize("lossless", [True, False])
def test_a_webp_stays_lossless_or_lossy_as_it_came(lossless):
    image = Image.new("RGBA", (64, 64), (0, 0, 255, 128))
    logo = check_logo(encoded(image, "WEBP", lossless=lossless, quality=70))
    assert (b"VP8L" in logo.content) is lossless
    assert reopened(logo).mode == "RGBA"


@pytest.mark.parametrize("kind", ["PNG", "WEBP"])
def test_an_animated_image_keeps_only_its_first_frame(kind):
    frames = [picture(size=(32, 32), colour=colour) for colour in ("red", "blue", "green")]
    content = encoded(frames[0], kind, save_all=True, append_images=frames[1:], duration=100)
    assert getattr(Image.open(io.BytesIO(content)), "n_frames", 1) == 3
    image = reopened(check_logo(content))
    assert getattr(image, "n_frames", 1) == 1
    red, green, blue = image.convert("RGB").getpixel((16, 16))
    assert red > 240 and green < 15 and blue < 15, "the first frame, red"


def test_sixteen_bit_and_greyscale_pngs_are_accepted():
    for mode in ("L", "LA", "I;16", "1"):
        logo = check_logo(encoded(Image.new(mode, (20, 20)), "PNG"))
        assert logo.media_type == "image/png"


# --- SVG -----------------------------------------------------------------------------------------

CLEAN = svg(
    "<title>Example Corp</title><desc>The logo</desc>"
    '<defs><linearGradient id="g" x1="0" x2="1"><stop offset="0" stop-color="#e60012"/>'
    '<stop offset="1" stop-color="#fff" stop-opacity="0.5"/></linearGradient>'
    '<clipPath id="c"><rect width="100" height="100" rx="8"/></clipPath></defs>'
    '<g clip-path="url(#c)" transform="translate(10, 10) scale(0.5)">'
    '<rect id="r" x="0" y="0" width="50" height="50" fill="url(#g)"/>'
    '<circle cx="50" cy="50" r="20" fill="none" stroke="rgb(0, 0, 0)" stroke-width="2"/>'
    '<path d="M0,0 L10,10 C20,20 30,20 40,10 Z" fill-rule="evenodd"/>'
    '<polygon points="0,0 10,0 5,8"/></g>'
    '<use href="#r" x="60"/>'
    '<text x="5" y="95" font-family="\'Noto Sans JP\', sans-serif" font-size="12">'
    '株式会社<tspan font-weight="bold">例</tspan> &amp; Co.</text>',
    attributes='viewBox="0 0 100 100" width="200" height="200"',
)


def test_a_clean_svg_keeps_its_shapes_text_and_references():
    _, root = sanitised(CLEAN)
    assert names(root) == [
        "svg",
        "title",
        "desc",
        "defs",
        "linearGradient",
        "stop",
        "stop",
        "clipPath",
        "rect",
        "g",
        "rect",
        "circle",
        "path",
        "polygon",
        "use",
        "text",
        "tspan",
    ]
    assert root.get("viewBox") == "0 0 100 100" and root.get("width") == "200"
    group = root.find(f"{SVG}g")
    assert group.get("clip-path") == "url(#c)"
    assert group.get("transform") == "translate(10, 10) scale(0.5)"
    assert root.find(f".//{SVG}rect[@id='r']").get("fill") == "url(#g)"
    assert root.find(f".//{SVG}path").get("d") == "M0,0 L10,10 C20,20 30,20 40,10 Z"
    assert root.find(f"{SVG}use").get("href") == "#r"
    text = root.find(f"{SVG}text")
    assert "".join(text.itertext()) == "株式会社例 & Co."
    assert text.get("font-family") == "'Noto Sans JP', sans-serif"
    assert root.find(f"{SVG}title").text == "Example Corp"


def test_the_svg_is_written_as_utf8_with_svg_as_the_default_namespace():
    logo, _ = sanitised(CLEAN)
    assert logo.content.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n<svg ")
    assert b'xmlns="http://www.w3.org/2000/svg"' in logo.content
    assert b"ns0:" not in logo.content and b"xlink" not in logo.content
    assert "株式会社".encode() in logo.content


def test_an_svg_is_recognised_by_its_content_whatever_it_is_called():
    assert check_logo(CLEAN, "logo.png").media_type == "image/svg+xml"


def test_scripts_are_dropped_with_their_content():
    _, root = sanitised(
        svg(
            '<script>alert(1)</script><script href="https://evil.example/x.js"/>'
            '<h:script xmlns:h="http://www.w3.org/1999/xhtml">alert(1)</h:script>'
            '<g><script type="text/ecmascript"><![CDATA[fetch("/")]]></script><rect width="9"'
            ' height="9"/></g>'
        )
    )
    assert "script" not in names(root)
    assert root.find(f".//{SVG}rect") is not None
    assert "alert" not in defusedxml.ElementTree.tostring(root, encoding="unicode")


@pytest.mark.parametrize(
    "attribute",
    ["onload", "onclick", "onmouseover", "onbegin", "onerror", "OnLoad", "onfocusin"],
)
def test_every_event_attribute_is_dropped(attribute):
    _, root = sanitised(
        svg(f'<rect width="9" height="9" {attribute}="alert(1)"/>', attributes=f'{attribute}="x()"')
    )
    assert all(not name.lower().startswith("on") for name, _ in every_attribute(root))
    assert root.find(f"{SVG}rect").get("width") == "9"


def test_foreign_object_iframe_image_and_animations_are_dropped():
    _, root = sanitised(
        svg(
            '<foreignObject width="100" height="100"><div xmlns="http://www.w3.org/1999/xhtml">'
            '<iframe src="https://evil.example"></iframe><img src="x" onerror="alert(1)" /></div>'
            "</foreignObject>"
            '<iframe src="https://evil.example"/>'
            '<image href="https://evil.example/x.png" width="10" height="10"/>'
            '<image xlink:href="data:image/png;base64,iVBORw0KGgo=" width="10" height="10"/>'
            '<a id="a"><rect width="5" height="5">'
            '<set attributeName="href" to="javascript:alert(1)"/>'
            '<animate attributeName="xlink:href" values="javascript:alert(1)"/></rect></a>'
            '<animateTransform attributeName="transform" type="rotate"/>'
            '<filter id="f"><feImage href="https://evil.example/x.png"/></filter>'
        )
    )
    assert names(root) == ["svg", "rect"]
    assert "evil" not in defusedxml.ElementTree.tostring(root, encoding="unicode")


def test_a_link_is_dropped_and_its_shapes_kept():
    _, root = sanitised(
        svg(
            '<a xlink:href="javascript:alert(1)"><rect width="5" height="5"/></a>'
            '<a href="https://evil.example"><circle r="3"/></a>'
            '<text>Visit <a href="https://evil.example">us</a> now</text>'
        )
    )
    assert names(root) == ["svg", "rect", "circle", "text"]
    assert "".join(root.find(f"{SVG}text").itertext()) == "Visit us now"
    assert every_attribute(root) == [
        ("viewBox", "0 0 100 100"),
        ("width", "5"),
        ("height", "5"),
        ("r", "3"),
    ]


@pytest.mark.parametrize(
    "href",
    [
        "https://evil.example/x.svg#a",
        "//evil.example/x.svg#a",
        "x.svg#a",
        "javascript:alert(1)",
        "  JaVaScRiPt:alert(1)",
        "java\tscript:alert(1)",
        "java&#x09;script:alert(1)",
        "&#106;avascript:alert(1)",
        "data:image/svg+xml;base64,PHN2Zz4=",
        "",
    ],
)
def test_use_with_anything_but_a_same_document_fragment_is_dropped(href):
    for attribute in ("href", "xlink:href"):
        _, root = sanitised(svg(f'<rect id="a" width="5" height="5"/><use {attribute}="{href}"/>'))
        assert names(root) == ["svg", "rect"], (attribute, href)


def test_use_with_a_same_document_fragment_is_kept_as_plain_href():
    _, root = sanitised(svg('<rect id="a" width="5" height="5"/><use xlink:href="#a" x="10"/>'))
    use = root.find(f"{SVG}use")
    assert use.attrib == {"href": "#a", "x": "10"}


def test_href_is_kept_only_where_svg_follows_it():
    _, root = sanitised(
        svg(
            '<linearGradient id="base"><stop offset="0"/></linearGradient>'
            '<linearGradient id="g" xlink:href="#base"/>'
            '<rect href="#base" width="5" height="5" fill="url(#g)"/>'
        )
    )
    assert root.find(f"{SVG}linearGradient[@id='g']").get("href") == "#base"
    assert root.find(f"{SVG}rect").get("href") is None


@pytest.mark.parametrize(
    "value",
    [
        "url(https://evil.example/x.svg#g)",
        "url('https://evil.example/x.svg#g')",
        "url(//evil.example/g)",
        "url(x.svg#g)",
        "url(#g) url(https://evil.example/x)",
        "url (#g)",
        "u\\72l(https://evil.example/x)",
        "url(data:image/png;base64,AAAA)",
        "expression(alert(1))",
        "image-set('https://evil.example/x.png' 1x)",
        "javascript:alert(1)",
        "red;background:url(https://evil.example)",
        "<script>",
    ],
)
def test_a_presentation_value_pointing_outside_or_running_code_is_dropped(value):
    _, root = sanitised(svg(f'<rect width="5" height="5" fill="{escape(value)}"/>'))
    assert root.find(f"{SVG}rect").get("fill") is None
    assert root.find(f"{SVG}rect").get("width") == "5"


def escape(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def test_a_style_attribute_keeps_only_presentation_properties_as_attributes():
    _, root = sanitised(
        svg(
            '<rect width="5" height="5" fill="blue" style="background:url(https://evil.example/x);'
            " fill: #E60012 !important; stroke:url(https://evil.example/s); stroke-width: 2;"
            ' behavior: url(x.htc); -moz-binding: url(x.xml#b); /* a comment */ opacity:.5"/>',
            attributes='viewBox="0 0 9 9" style="background-image:url(https://evil.example/bg)"',
        )
    )
    rect = root.find(f"{SVG}rect")
    assert rect.attrib == {
        "width": "5",
        "height": "5",
        "fill": "#E60012",  # CSS outranks the presentation attribute, as in a browser
        "stroke-width": "2",
        "opacity": ".5",
    }
    assert root.attrib == {"viewBox": "0 0 9 9"}
    assert "style" not in [name for name, _ in every_attribute(root)]


def test_class_rules_of_a_style_element_become_attributes_and_the_style_element_goes():
    # What Illustrator writes when it exports with internal CSS.
    _, root = sanitised(
        svg(
            "<defs><style>@import url(https://evil.example/x.css);"
            " .cls-1{fill:#e60012;} .cls-2,.cls-3{fill:none;stroke:#000;stroke-miterlimit:10}"
            " .cls-4{fill:url(https://evil.example/p)} rect{fill:green}"
            " @media print{.cls-1{fill:red}} @font-face{src:url(https://evil.example/f)}"
            " .cls-5{fill:url(#grad)}</style></defs>"
            '<path class="cls-1" d="M0 0h5v5z"/>'
            '<path class="cls-3 cls-4" d="M0 0h5v5z"/>'
            '<path class="cls-1" style="fill:blue" d="M0 0h5v5z"/>'
            '<path class="cls-5" d="M0 0h5v5z"/>'
        )
    )
    assert "style" not in names(root)
    first, second, third, fourth = root.iter(f"{SVG}path")
    assert first.get("fill") == "#e60012"
    assert second.get("fill") == "none" and second.get("stroke") == "#000"
    assert second.get("stroke-miterlimit") == "10"
    assert third.get("fill") == "blue", "an element's own style outranks its class"
    assert fourth.get("fill") == "url(#grad)"
    assert "class" not in first.attrib
    assert "evil" not in defusedxml.ElementTree.tostring(root, encoding="unicode")


def test_many_class_rules_reach_every_element_with_their_class():
    rules = "".join(f".c{n}{{fill:#e60012;stroke:#000;opacity:.5}}" for n in range(20_000))
    shapes = '<rect class="c1 c9999 missing" width="1" height="1"/>' * 2_000
    _, root = sanitised(svg(f"<style>{rules}</style>{shapes}"))
    assert root.find(f"{SVG}rect").get("fill") == "#e60012"


def test_a_logo_that_grows_too_large_once_cleaned_is_refused(monkeypatch):
    monkeypatch.setattr(logos, "MAX_STORED_BYTES", 20_000)
    declarations = ";".join(f"{name}:1" for name in ("stroke-width", "opacity", "font-size"))
    shapes = '<rect class="a" width="1" height="1"/>' * 500
    content = svg(f"<style>.a{{{declarations};fill:#e60012}}</style>{shapes}")
    assert len(content) < 20_000
    assert refusal(content) == (
        "This logo grows too large once it is cleaned and saved again. Upload an image with"
        " fewer pixels, or a simpler SVG."
    )


def test_attributes_and_elements_of_other_namespaces_are_dropped():
    _, root = sanitised(
        svg(
            '<sodipodi:namedview xmlns:sodipodi="http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd"'
            ' pagecolor="#fff"/>'
            '<metadata><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/></metadata>'
            '<rect xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape"'
            ' inkscape:label="Layer 1" xml:base="https://evil.example/" xml:space="preserve"'
            ' width="5" height="5"/>'
            '<rect xmlns="http://example.com/not-svg" width="1" height="1"/>'
        )
    )
    assert names(root) == ["svg", "rect"]
    assert root.find(f"{SVG}rect").attrib == {
        "{http://www.w3.org/XML/1998/namespace}space": "preserve",
        "width": "5",
        "height": "5",
    }


def test_comments_and_processing_instructions_are_dropped():
    logo, _ = sanitised(
        svg(
            '<!-- <script>alert(1)</script> --><?php echo 1 ?><rect width="5" height="5"/>',
            prolog='<?xml version="1.0"?><?xml-stylesheet href="https://evil.example/x.css"?>',
        )
    )
    assert b"<!--" not in logo.content and b"<?php" not in logo.content
    assert b"xml-stylesheet" not in logo.content and b"evil" not in logo.content


def test_a_switch_is_unwrapped_as_illustrator_writes_it():
    _, root = sanitised(
        svg(
            '<switch><foreignObject requiredExtensions="http://ns.adobe.com/AdobeIllustrator/10.0/"'
            ' x="0" y="0" width="1" height="1"/><g><rect width="5" height="5"/></g></switch>'
        )
    )
    assert names(root) == ["svg", "g", "rect"]


def test_a_use_of_a_use_is_dropped_and_so_is_a_use_of_its_own_ancestor():
    _, root = sanitised(
        svg(
            '<rect id="a" width="1" height="1"/>'
            '<g id="b"><use href="#a"/><use href="#a" x="2"/></g>'
            '<g id="c"><use href="#b"/></g>'  # a use of uses: dropped
            '<g id="d"><rect width="1" height="1"/><use href="#d"/></g>'  # a use of itself
            '<use href="#missing"/>'
        )
    )
    hrefs = [use.get("href") for use in root.iter(f"{SVG}use")]
    assert hrefs == ["#a", "#a", "#missing"]


def test_an_svg_whose_uses_would_draw_too_many_elements_is_refused():
    shapes = "".join(f'<rect x="{n}" width="1" height="1"/>' for n in range(200))
    uses = '<use href="#many"/>' * 200
    message = refusal(svg(f'<g id="many">{shapes}</g>{uses}'))
    assert message.startswith("This SVG is too complex for a logo")


def test_an_svg_nested_too_deep_is_refused_without_a_recursion_error():
    deep = "<g>" * 100_000 + '<rect width="1" height="1"/>' + "</g>" * 100_000
    assert refusal(svg(deep)) == (
        "This SVG is too complex for a logo (more than 20000 elements, or nested more than 48"
        " deep). Simplify it, or upload the logo as PNG, JPEG or WebP."
    )
    kept = (
        "<g>" * (MAX_SVG_DEPTH - 2) + '<rect width="1" height="1"/>' + "</g>" * (MAX_SVG_DEPTH - 2)
    )
    assert "rect" in names(sanitised(svg(kept))[1])


def test_an_svg_with_too_many_elements_is_refused():
    many = '<rect width="1" height="1"/>' * 20_001
    assert refusal(svg(many)).startswith("This SVG is too complex for a logo")


def test_an_xml_bomb_is_refused():
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY lol "lol">'
        + "".join(
            f'<!ENTITY lol{n} "{("&lol" + str(n - 1) + ";") * 10 if n > 1 else "&lol;" * 10}">'
            for n in range(1, 10)
        )
        + ']><svg xmlns="http://www.w3.org/2000/svg"><text>&lol9;</text></svg>'
    )
    assert refusal(laughs.encode()) == DOCTYPE


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
        '<!DOCTYPE svg SYSTEM "https://evil.example/x.dtd">',
        '<!DOCTYPE svg [<!ENTITY % p SYSTEM "https://evil.example/p.dtd"> %p;]>',
        '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "https://evil.example/x.dtd">',
        '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN"'
        ' "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd" [<!ENTITY x "y">]>',
    ],
)
def test_an_external_entity_or_any_dtd_is_refused(doctype):
    content = svg("<text>&x;</text>", prolog=f'<?xml version="1.0"?>{doctype}')
    assert refusal(content) == DOCTYPE


def test_svg_1_1s_public_doctype_alone_is_accepted():
    # What Illustrator and older exporters write: it declares nothing, and nothing fetches it.
    doctype = (
        '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN"'
        ' "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">'
    )
    logo, root = sanitised(
        svg('<rect width="5" height="5"/>', prolog=f'<?xml version="1.0"?>\n{doctype}\n')
    )
    assert b"DOCTYPE" not in logo.content and b"w3.org/Graphics" not in logo.content
    assert names(root) == ["svg", "rect"]


def test_an_html_page_is_refused_as_not_an_image():
    assert refusal(b"<!DOCTYPE html><html><script>alert(1)</script></html>") == NOT_ACCEPTED


@pytest.mark.parametrize(
    "content",
    [
        b'<html xmlns="http://www.w3.org/1999/xhtml"><body/></html>',
        b'<svg width="10" height="10"><rect width="5" height="5"/></svg>',  # no namespace
        b'<x:svg xmlns:x="http://example.com/svg"/>',
        b'<?xml version="1.0"?><rss version="2.0"/>',
    ],
)
def test_an_xml_root_other_than_svg_in_its_namespace_is_refused(content):
    assert refusal(content) == (
        "This XML file is not an SVG image: its root must be an <svg> element in the SVG namespace"
        ' (xmlns="http://www.w3.org/2000/svg"). Upload an SVG, PNG, JPEG or WebP logo.'
    )


@pytest.mark.parametrize(
    "content",
    [
        b'<svg xmlns="http://www.w3.org/2000/svg"><rect></svg>',
        b'<svg xmlns="http://www.w3.org/2000/svg">',
        b"<svg",
        b'<?xml version="1.0" encoding="x-made-up"?><svg xmlns="http://www.w3.org/2000/svg"/>',
        b'<svg xmlns="http://www.w3.org/2000/svg">\x00</svg>',
        b"<<<<",
    ],
)
def test_an_svg_that_is_not_well_formed_is_refused(content):
    assert refusal(content) == (
        "This file is not a well-formed SVG. Upload the logo as a valid SVG, or as PNG, JPEG or"
        " WebP, of at most 2 MB."
    )


def test_an_svg_with_nothing_left_to_show_is_refused():
    only_script = svg('<script>alert(1)</script><image href="data:image/png;base64,AAAA"/>')
    assert refusal(only_script) == (
        "Nothing of this SVG is left to show once its scripts, embedded images and external"
        " references are removed. Upload the logo as PNG, JPEG or WebP, or as an SVG of plain"
        " shapes and text."
    )


def test_an_svg_in_utf16_or_with_a_byte_order_mark_is_read():
    text = '<svg xmlns="http://www.w3.org/2000/svg"><rect width="5" height="5"/></svg>'
    for content in (
        text.encode("utf-16"),
        b"\xef\xbb\xbf" + text.encode(),
        b"\n  " + text.encode(),
    ):
        assert names(sanitised(content)[1]) == ["svg", "rect"]


def test_entity_encoded_schemes_in_any_attribute_are_dropped():
    _, root = sanitised(
        svg('<rect id="&#106;avascript:x" width="5" height="5" fill="d&#x61;ta:x"/>')
    )
    assert root.find(f"{SVG}rect").attrib == {"width": "5", "height": "5"}


def test_the_logo_csp_forbids_everything_but_inline_styles_in_a_sandbox():
    assert LOGO_CSP == "default-src 'none'; style-src 'unsafe-inline'; sandbox"


def test_the_media_types_are_the_ones_a_partner_may_store():
    assert logos.MEDIA_TYPES == ("image/png", "image/jpeg", "image/webp", "image/svg+xml")
    assert set(logos.MEDIA_TYPES) == set(LOGO_TYPES)
    assert MAX_LOGO_BYTES == 2 * 1024 * 1024
    assert (MIN_LOGO_SIDE, MAX_LOGO_SIDE) == (16, 4000)
