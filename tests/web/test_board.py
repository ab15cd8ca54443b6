"""The board (故障看板): the worst first, its filters and search, the deadline cell, and no query per row."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from freezegun import freeze_time

from app.incidents import service
from app.scheduling import judge
from tests.incidents.test_list_queries import counted_statements, declare_many

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def clock():
    """Frozen before anyone logs in: a session signed 'in the future' would be refused."""
    with freeze_time(NOW) as frozen:
        yield frozen

def test_the_board_does_not_query_per_row(operator, make_user):
    user, _ = make_user("operator")

    def board_statements() -> int:
        with counted_statements() as statements:
            assert operator.get("/incidents").status_code == 200
        return len(statements)

    declare_many(user, 2)
    few = board_statements()
    declare_many(user, 10)
    assert board_statements() == few


def declare(user, title: str, *, minutes_ago: int = 5, **overrides):
    fields = {"services": ["mobile_data"], "regions": ["杭州"], **overrides}
    return service.declare(user, title=title, detected_at=NOW - timedelta(minutes=minutes_ago), **fields)


def board_titles(browser, query: str = "") -> list[str]:
    html = browser.get("/incidents" + query).get_data(as_text=True)
    table = html.split('<table class="board"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<td class="title-cell">\s*<a href="[^"]+">([^<]+)</a>', table)


def cell_of(browser, title: str, query: str = "") -> str:
    html = browser.get("/incidents" + query).get_data(as_text=True)
    return html[html.index(title):].split('<td class="deadline-cell', 1)[1].split("</td>", 1)[0]


def test_the_worst_first_and_only_open_ones_by_default(operator, manager, clock):
    user = operator.user
    declare(user, "三级 先到期", minutes_ago=100)       # report due 15 min after detection: the soonest
    declare(user, "三级 后到期", minutes_ago=1)
    declare(user, "二级 重大", minutes_ago=3, services=["mobile_data", "broadband"], major=True, major_reason="省会")
    declare(user, "二级", minutes_ago=3, services=["mobile_data", "broadband"])
    declare(user, "一级", minutes_ago=2, services=["core_network"])
    cancelled = declare(user, "已撤销的一级", minutes_ago=1, services=["core_network"])
    service.cancel(cancelled.id, manager.user, reason="误报")

    assert board_titles(operator) == ["一级", "二级 重大", "二级", "三级 先到期", "三级 后到期"]
    assert board_titles(operator, "?status=")[-1] == "已撤销的一级"  # everything: closed and cancelled last
    assert board_titles(operator, "?status=cancelled") == ["已撤销的一级"]
    assert board_titles(operator, "?level=2&major=1") == ["二级 重大"]


def test_search_by_number_or_title_and_filter_by_region(operator):
    first = declare(operator.user, "杭州西湖区宽带中断")
    declare(operator.user, "宁波移动数据中断", regions=["宁波", "绍兴"])
    assert board_titles(operator, "?region=绍兴") == ["宁波移动数据中断"]
    assert board_titles(operator, "?region=杭") == []  # a region is named whole
    assert board_titles(operator, "?region=西湖区") == ["杭州西湖区宽带中断"]  # the city's incident covers its districts
    assert board_titles(operator, "?q=西湖") == ["杭州西湖区宽带中断"]
    assert board_titles(operator, f"?q={first.number.lower()}") == ["杭州西湖区宽带中断"]
    assert board_titles(operator, "?q=%25") == []  # a LIKE wildcard is a plain character here
    assert board_titles(operator, "?q=" + "长" * 201) != []  # too long: the filter is refused, not cut
    assert "筛选条件无效" in operator.get("/incidents?q=" + "长" * 201).get_data(as_text=True)


def test_the_region_filter_takes_in_the_regions_below_and_above(operator):
    """Filtering by a city lists what touches it: the city, its districts, its province, the whole
    network; not a neighbouring city's district."""
    declare(operator.user, "西湖区光缆中断", regions=["西湖区"])
    declare(operator.user, "浙江全省短信延迟", regions=["浙江"])
    declare(operator.user, "全网语音故障", regions=["全网"])
    declare(operator.user, "杭州宽带中断")
    declare(operator.user, "海曙区停电", regions=["海曙区"])
    assert sorted(board_titles(operator, "?region=杭州")) == sorted(
        ["西湖区光缆中断", "浙江全省短信延迟", "全网语音故障", "杭州宽带中断"])
    assert sorted(board_titles(operator, "?region=宁波")) == sorted(["浙江全省短信延迟", "全网语音故障", "海曙区停电"])
    assert sorted(board_titles(operator, "?region=西湖区")) == sorted(
        ["西湖区光缆中断", "浙江全省短信延迟", "全网语音故障", "杭州宽带中断"])


def test_the_breached_cell_names_the_overdue_obligation_of_open_incidents_only(operator, manager, clock):
    open_one = declare(operator.user, "迟迟未上报", minutes_ago=27)     # report was due 12 minutes ago
    closed_one = declare(operator.user, "已撤销也曾超时", minutes_ago=27)
    judge.judge_due(NOW)
    service.cancel(closed_one.id, manager.user, reason="误报")

    cell = cell_of(operator, "迟迟未上报")
    assert "has-breach" in cell and "上报服务调度中心 已超时 12分" in cell
    assert f'data-late-since="{(NOW - timedelta(minutes=12)).isoformat()}"' in cell
    closed = cell_of(operator, "已撤销也曾超时", "?status=")
    assert "has-breach" not in closed and "已超时" not in closed and "有超时记录" in closed
    assert board_titles(operator, "?breached=1") == ["迟迟未上报"]


def test_a_countdown_carries_its_due_time_for_the_browser(operator):
    incident = declare(operator.user, "刚登记", minutes_ago=5)
    cell = cell_of(operator, "刚登记")
    assert 'data-due="' + (incident.detected_at + timedelta(minutes=15)).isoformat() + '"' in cell
    assert "剩余 10分" in cell


def test_wall_screen_shows_open_incidents_without_controls(operator, manager):
    declare(operator.user, "一级 大屏", services=["core_network"])
    cancelled = declare(operator.user, "撤销的")
    service.cancel(cancelled.id, manager.user, reason="误报")
    html = operator.get("/incidents/wall").get_data(as_text=True)
    wall = html.split('id="wall-live"', 1)[1]
    assert "一级 大屏" in wall and "撤销的" not in wall
    assert "<form" not in wall and "<a " not in wall and 'class="wall-mode"' in html
