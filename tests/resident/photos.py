"""Photos as phones make them: JPEGs carrying where they were taken and with which camera."""

from io import BytesIO

from PIL import ExifTags, Image

CAMERA = ("Canon", "EOS 5D Mark IV")
WHERE = ((39.0, 7.0, 15.6), (117.0, 12.0, 5.0))  # 39°7'15.6"N 117°12'5"E: a resident's building


def phone_photo(colour: tuple[int, int, int] = (200, 40, 40), size: tuple[int, int] = (1600, 1200)) -> bytes:
    """A JPEG with EXIF camera make and model, GPS position, and orientation 6 (shot with the phone upright)."""
    image = Image.new("RGB", size, colour)
    for x in range(0, size[0], 100):  # some detail, so the JPEG is not trivially small
        image.paste((255 - colour[0], colour[1], 255 - colour[2]), (x, 0, x + 50, size[1] // 3))
    exif = Image.Exif()
    exif[ExifTags.Base.Make], exif[ExifTags.Base.Model] = CAMERA
    exif[ExifTags.Base.Orientation] = 6
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = "N", WHERE[0]
    gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLongitude] = "E", WHERE[1]
    out = BytesIO()
    image.save(out, "JPEG", exif=exif, quality=90)
    return out.getvalue()


def carries_nothing_but_pixels(content: bytes) -> bool:
    """No EXIF at all (so no GPS, no camera), no ICC profile, and none of the original's telltale bytes."""
    image = Image.open(BytesIO(content))
    return (
        not image.getexif()
        and "exif" not in image.info
        and "icc_profile" not in image.info
        and CAMERA[0].encode() not in content
        and b"Exif" not in content
    )
