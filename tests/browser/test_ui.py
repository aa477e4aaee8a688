"""The browser check of the Airflow UI (issue 12): Playwright drives Debian's headless Chromium
(/usr/bin/chromium; ``playwright install`` cannot download a browser here, and .ci/run installs
``chromium`` and ``fonts-noto-cjk``) against an Airflow API server of its own (conftest.py: a
temporary AIRFLOW_HOME and metadata DB, free ports, a failed KB100 run made beforehand).

A 運用 user logs in with a Japanese browser (locale ja-JP), and the check asserts what an operator
reads, in the UI's own Japanese labels that the README's operator guide quotes:

- the DAG list shows every job net of jobs/registry.py under its display name (KB100 取込ジョブネット …);
- the failed KB100 run shows FK020 国保資格取込 失敗した and its downstream 上流が失敗しました;
- the task's 消去 dialog offers 下流 and 失敗したタスクのみを消去 (opened and closed: nothing is cleared);
- the trigger form (トリガー) shows 論理日付 and the run parameters 業務日 / 年度 / 団体コード of
  dags/_kokuho/params.py (opened and closed: nothing is triggered; no scheduler runs anyway);
- the UI follows the browser's time zone (+00:00 in a UTC browser) until the clock button at the
  bottom left is set to Asia/Tokyo (+09:00).

Screenshots (PNG) go to var/ci/ui_*.png. Without Chromium the test is skipped, saying so; CI
installs it, so that skip is not in tests/skip_allowlist.yaml and fails a strict run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "var" / "ci"
#: Debian's package (apt-get install chromium); KOKUHO_CHROMIUM names another binary
CHROMIUM_CANDIDATES = ("chromium", "/usr/bin/chromium", "chromium-browser")
TIMEOUT_MS = 30_000


def chromium_path() -> str | None:
    if os.environ.get("KOKUHO_CHROMIUM"):
        return os.environ["KOKUHO_CHROMIUM"] if os.access(os.environ["KOKUHO_CHROMIUM"], os.X_OK) else None
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def chromium() -> str:
    path = chromium_path()
    if path is None:
        pytest.skip("browser check: Chromium not found (apt-get install chromium fonts-noto-cjk, as .ci/run does; "
                    "or set KOKUHO_CHROMIUM)")
    return path


def _shot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = SHOTS / f"ui_{name}.png"
    page.screenshot(path=str(path))
    assert path.stat().st_size > 0
    return path


def _new_page(browser, ui, *, timezone: str):
    """A fresh browser context (Japanese, ``timezone``), logged in as the 運用 user."""
    from playwright.sync_api import expect

    ctx = browser.new_context(locale="ja-JP", timezone_id=timezone, viewport={"width": 1280, "height": 800})
    ctx.set_default_timeout(TIMEOUT_MS)
    page = ctx.new_page()
    page.goto(f"{ui.url}/")
    # SimpleAuthManager's login page is not translated
    page.get_by_label("Username").fill(ui.login)
    page.get_by_label("Password").fill(ui.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="ユーザ")).to_be_visible()
    return page


@pytest.fixture(scope="module")
def browser(chromium: str, airflow_ui) -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def page(browser, airflow_ui) -> Iterator:
    p = _new_page(browser, airflow_ui, timezone="Asia/Tokyo")
    yield p
    p.context.close()


def test_dag_list_shows_the_japanese_display_names(page, airflow_ui):
    from playwright.sync_api import expect

    from jobs.registry import JOBNETS

    page.goto(f"{airflow_ui.url}/dags")
    expect(page.get_by_text(f"{len(JOBNETS)} Dags", exact=True)).to_be_visible()
    titles = [net.title for net in JOBNETS.values()]
    assert "KB100 取込ジョブネット" in titles
    for title in titles:
        expect(page.get_by_role("link", name=title, exact=True)).to_be_visible()
    _shot(page, "01_dags")


def test_failed_run_shows_the_failed_task(page, airflow_ui):
    from playwright.sync_api import expect

    page.goto(f"{airflow_ui.url}/dags/kokuho_intake/runs/{airflow_ui.run_id}")
    expect(page.get_by_text("KB100 取込ジョブネット").first).to_be_visible()
    expect(page.get_by_text("論理日付", exact=True)).to_be_visible()
    fk020 = page.get_by_role("row").filter(has=page.get_by_role("link", name="FK020 国保資格取込", exact=True))
    expect(fk020).to_be_visible()
    expect(fk020).to_contain_text("失敗した")
    for downstream in ("FK010 住民税所得取込", "FK030 年金特徴対象者取込", "KB100-END 統制合計表"):
        row = page.get_by_role("row").filter(has=page.get_by_role("link", name=downstream, exact=True))
        expect(row).to_contain_text("上流が失敗しました")
    cal = page.get_by_role("row").filter(has=page.get_by_role("link", name="KB100-CAL 開庁日判定", exact=True))
    expect(cal).to_contain_text("成功")
    _shot(page, "02_failed_run")


def test_clear_dialog_offers_downstream(page, airflow_ui):
    from playwright.sync_api import expect

    page.goto(f"{airflow_ui.url}/dags/kokuho_intake/runs/{airflow_ui.run_id}/tasks/fk020")
    expect(page.get_by_text("FK020 国保資格取込").first).to_be_visible()
    expect(page.get_by_text("Storage", exact=True)).to_be_visible()  # the XCom tab is under it (not translated)
    page.get_by_role("button", name="消去するには shift+c を押してください").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("タスクインスタンス を消去: FK020 国保資格取込")
    for label in ("過去", "未来", "上流", "下流", "失敗したタスクのみを消去", "確認"):
        expect(dialog.get_by_text(label, exact=True).first).to_be_visible()
    expect(dialog).to_contain_text("影響を受けたタスク: 6 件")  # FK020 and its 5 downstream tasks
    _shot(page, "03_clear")
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()


def test_trigger_form_shows_the_run_params(page, airflow_ui):
    from _kokuho.params import run_params
    from playwright.sync_api import expect

    page.goto(f"{airflow_ui.url}/dags/kokuho_intake")
    page.get_by_role("button", name="Dag のトリガー").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Dag のトリガー - KB100 取込ジョブネット")
    expect(dialog.get_by_text("論理日付", exact=True)).to_be_visible()
    titles = [p.schema["title"] for p in run_params().values()]
    assert titles[0].startswith("業務日")
    for title in titles:
        expect(dialog.get_by_text(title, exact=True)).to_be_visible()
        group = dialog.get_by_role("group").filter(has=page.get_by_text(title, exact=True))
        field = group.locator("input").first
        expect(field).to_be_visible()
        expect(field).to_be_editable()
        expect(field).to_have_value("")  # all null by default: 業務日 from the 論理日付, 年度 and 団体 derived
    expect(dialog.get_by_role("button", name="トリガー", exact=True)).to_be_visible()
    _shot(page, "04_trigger")
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()


def test_time_zone_follows_the_browser_until_set_to_tokyo(browser, airflow_ui):
    from playwright.sync_api import expect

    page = _new_page(browser, airflow_ui, timezone="UTC")
    try:
        page.goto(f"{airflow_ui.url}/dags")
        page.get_by_role("button", name="+00:00").click()
        dialog = page.get_by_role("dialog")
        expect(dialog).to_contain_text("タイムゾーンを選択")
        dialog.get_by_role("combobox").click()
        page.keyboard.type("Asia/Tokyo")
        page.get_by_role("option", name="Asia/Tokyo", exact=True).click()
        expect(dialog).to_contain_text("現在のタイムゾーン Asia/Tokyo")
        _shot(page, "05_timezone")
        page.keyboard.press("Escape")
        expect(page.get_by_role("button", name="+09:00")).to_be_visible()
    finally:
        page.context.close()
