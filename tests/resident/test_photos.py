"""Photos through the API: re-encoded without EXIF, limited in size and count before the body is read, checked
by content, and shown only to the people who may see their case."""

import asyncio
from io import BytesIO

import httpx
from PIL import Image

from api.photos import LONG_SIDE, MAX_PHOTO_BYTES, THUMBNAIL_SIDE
from tests.resident.conftest import PHONE
from tests.resident.photos import carries_nothing_but_pixels, phone_photo
from tests.waiting import WITHIN

COMPOUND = "HP-DF-QH-1"  # council: PM-LVYUAN (property), OC-HP-DF-QH-1, HP-DF-QH


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def jpeg(content: bytes, name: str = "IMG_0001.jpg") -> tuple[str, tuple[str, bytes, str]]:
    return ("photo", (name, content, "image/jpeg"))


async def upload(http: httpx.AsyncClient, *contents: bytes, **options) -> httpx.Response:
    return await http.post(
        "/v1/photos", files=[jpeg(content, f"IMG_{n}.jpg") for n, content in enumerate(contents)], **options
    )


async def announced(url: str, path: str, length: int) -> bytes:
    """Send only the head of a POST announcing `length` bytes of body; the status line of the answer."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {length}"
        writer.write(f"{head}\r\n\r\n".encode())
        await writer.drain()
        return await asyncio.wait_for(reader.readline(), WITHIN)
    finally:
        writer.close()


ENGLISH = {"Accept-Language": "en"}


async def test_a_reports_photos_reach_its_council_without_exif_and_nobody_else(site):
    async with httpx.AsyncClient(base_url=site.url, timeout=60, headers=ENGLISH) as http:
        uploaded = await upload(http, phone_photo((200, 40, 40), (4000, 3000)), phone_photo((40, 40, 200)))
        assert uploaded.status_code == 201, uploaded.text
        receipts = uploaded.json()["photos"]
        assert [(r["width"], r["height"]) for r in receipts] == [(1536, LONG_SIDE), (1200, 1600)]  # upright, shrunk
        report = {
            "compound": COMPOUND,
            "category": "CORRIDOR_CLUTTER",
            "description": "bikes and boxes block the stairwell",
            "reporter": {"name": "王小明", "phone": PHONE},
            "photo_urls": [r["url"] for r in receipts],
        }
        reported = await http.post("/v1/cases", json=report)
        assert reported.status_code == 201, reported.text
        case_id, token = reported.json()["case_id"], reported.json()["token"]

        seen = await http.get(f"/v1/handler/cases/{case_id}", headers=bearer(site.keys["property"]))
        assert seen.json()["photo_urls"] == [r["url"] for r in receipts]
        for receipt in receipts:
            photo = await http.get(receipt["url"], headers=bearer(site.keys["property"]))
            assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
            assert carries_nothing_but_pixels(photo.content)
            assert max(Image.open(BytesIO(photo.content)).size) <= LONG_SIDE
            small = await http.get(receipt["thumbnail_url"], headers={"X-Case-Token": token})
            assert small.status_code == 200 and max(Image.open(BytesIO(small.content)).size) == THUMBNAIL_SIDE
            assert carries_nothing_but_pixels(small.content)

            assert (await http.get(receipt["url"])).status_code == 401
            stranger = await http.get(receipt["url"], headers=bearer(site.keys["jindi"]))  # another compound's
            assert stranger.status_code == 403 and "no case you may see" in stranger.json()["detail"]
            wrong = await http.get(receipt["url"], headers={"X-Case-Token": "x" * 32})
            assert wrong.status_code == 403
        centre = await http.get(receipts[0]["url"], headers=bearer(site.keys["centre"]))  # over the district
        assert centre.status_code == 200


async def test_an_organisation_attaches_its_photos_to_a_case_it_may_view(site):
    async with httpx.AsyncClient(base_url=site.url, timeout=60) as http:
        reported = await http.post(
            "/v1/cases", json={"compound": COMPOUND, "category": "DOWNPIPE", "description": "downpipe hanging loose"}
        )
        case_id, token = reported.json()["case_id"], reported.json()["token"]
        evidence = phone_photo((10, 150, 10))
        refused = await upload(http, evidence, data={"case": case_id}, headers=bearer(site.keys["jindi"]))
        assert refused.status_code == 403
        anonymous = await upload(http, evidence, data={"case": case_id})
        assert anonymous.status_code == 401
        uploaded = await upload(http, evidence, data={"case": case_id}, headers=bearer(site.keys["property"]))
        assert uploaded.status_code == 201, uploaded.text
        url = uploaded.json()["photos"][0]["url"]
        assert (await http.get(url, headers={"X-Case-Token": token})).status_code == 200  # the resident sees it
        assert (await http.get(url, headers=bearer(site.keys["owners"]))).status_code == 200


async def test_refused_uploads_say_why_and_store_nothing(site):
    before = site.photo_files()
    async with httpx.AsyncClient(base_url=site.url, timeout=60, headers=ENGLISH) as http:
        text = await http.post("/v1/photos", files=[jpeg(b"GIF89a? no: a text file named like a photo", "x.jpg")])
        assert text.status_code == 422 and "photo 1 is not a readable photo" in text.json()["detail"][0]["msg"]

        oversized = await upload(http, phone_photo(), b"\xff\xd8" + b"\0" * MAX_PHOTO_BYTES)
        assert oversized.status_code == 413 and "photo 2 is 10.0 MB; at most 10 MB" in oversized.json()["detail"]

        five = await upload(http, *[phone_photo((n * 40, 0, 0), (200, 150)) for n in range(5)])
        assert five.status_code == 422 and "at most 4 photos" in five.json()["detail"][0]["msg"]

        async def endless():  # chunked, no Content-Length: refused once the bytes pass the limit
            yield b'--x\r\nContent-Disposition: form-data; name="photo"; filename="big.jpg"\r\n\r\n'
            for _ in range(100):
                yield b"\0" * (1024 * 1024)

        streamed = await http.post(
            "/v1/photos", content=endless(), headers={"Content-Type": "multipart/form-data; boundary=x"}
        )
        assert streamed.status_code == 413 and "larger than" in streamed.json()["detail"]
        # 5 MB announced to a JSON endpoint (1 MB at most): answered before a byte of the body is sent
        assert (await announced(site.url, "/v1/cases", 5 * 1024 * 1024)).startswith(b"HTTP/1.1 413 ")

        unknown = await http.post(
            "/v1/cases",
            json={
                "compound": COMPOUND,
                "category": "NOISE",
                "description": "drums",
                "photo_urls": [f"{site.url}/v1/photos/{'0' * 64}.jpg"],
            },
        )
        assert unknown.status_code == 422 and "upload it first" in unknown.json()["detail"][0]["msg"]
    assert site.photo_files() == before
