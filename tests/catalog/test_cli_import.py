"""``flask catalog import FILE.csv``: services or regions by the header; one bad line imports nothing."""
from __future__ import annotations

from app.catalog import service as catalog


def _run(app_ctx, tmp_path, text: str):
    path = tmp_path / "catalog.csv"
    path.write_text(text, encoding="utf-8")
    return app_ctx.test_cli_runner().invoke(args=["catalog", "import", str(path)])


def test_import_services_and_regions(app_ctx, tmp_path):
    services = _run(app_ctx, tmp_path, "code,name_zh,name_en,active\n5g_slice,5G切片,5G slicing,1\niptv,网络电视,IPTV,0\n")
    assert services.exit_code == 0, services.output
    assert "imported 2 services" in services.output
    assert catalog.unknown("service", ["5g_slice", "iptv"]) == ["iptv"]  # iptv retired by the file
    regions = _run(app_ctx, tmp_path, "code,name_zh,name_en,level,parent_code\n"
                                      "新区,新区,Xinqu,district,新市\n新市,新市,Xinshi,city,浙江\n")
    assert regions.exit_code == 0, regions.output  # children before parents in the file is fine
    assert catalog.unknown("region", ["新市", "新区"]) == []


def test_a_bad_line_is_named_and_nothing_is_imported(app_ctx, tmp_path):
    bad_parent = _run(app_ctx, tmp_path, "code,name_zh,name_en,level,parent_code\n"
                                         "好区,好区,Fine,district,杭州\n坏区,坏区,Bad,district,火星\n")
    assert bad_parent.exit_code != 0 and "line 3" in bad_parent.output and "火星" in bad_parent.output
    bad_code = _run(app_ctx, tmp_path, "code,name_zh,name_en\nok,好,ok\n5G 切片,x,x\n")
    assert bad_code.exit_code != 0 and "line 3" in bad_code.output and "code" in bad_code.output
    bad_header = _run(app_ctx, tmp_path, "phone,name\n1,2\n")
    assert bad_header.exit_code != 0 and "header" in bad_header.output
    assert catalog.unknown("region", ["好区"]) == ["好区"] and catalog.unknown("service", ["ok"]) == ["ok"]
