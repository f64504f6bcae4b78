"""In Chromium: the site menus open with every link on screen, on a desktop and on a phone."""

import pytest

pytestmark = pytest.mark.browser
TOOL_LINKS = {"GAISSALabel": "Consult models", "ROI Analyzer": "Saved analyses"}


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("tool", sorted(TOOL_LINKS))
def test_tool_menu_shows_every_link(live_server, browser, width, tool):
    context = browser.new_context(viewport={"width": width, "height": 900})
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/about")
        menu = page.locator(".menu-toggle" if width < 900 else ".menu-wide")
        if width < 900:
            menu.locator("> summary").click()
        menu.locator("details.dropdown > summary", has_text=tool).click()
        links = menu.locator("details.dropdown[open] > ul a")
        assert links.count() >= 3
        boxes = [links.nth(index).bounding_box() for index in range(links.count())]
        for box in boxes:
            assert box["x"] >= 0
            assert box["x"] + box["width"] <= width
        # One column: each link below the previous one.
        tops = [box["y"] for box in boxes]
        assert tops == sorted(tops)
        assert len(set(tops)) == len(tops)
        assert menu.get_by_role("link", name=TOOL_LINKS[tool]).is_visible()
    finally:
        context.close()
