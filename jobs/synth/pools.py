"""String pools of the synthetic city: surnames, given names, towns (kanji and kana).

Names are common Japanese surnames and given names drawn independently, so no generated person is
a real one; the towns are generic names inside the fictional city of ``config/synth.yaml``. Every
kanji is in JIS X 0208 (the 特別徴収 files carry names in JIS X 0208), which the tests check.

The pools are small; people get names by vectorised indexing into them (see population.py).
Kana are written here in full-width katakana and converted once to half-width (``to_halfwidth``).
"""

from __future__ import annotations

import functools
import unicodedata

import numpy as np

# (kanji, kana). A few readings carry small kana (ショウジ, ハットリ) so that Zengin folding is exercised.
SURNAMES: tuple[tuple[str, str], ...] = (
    ("佐藤", "サトウ"), ("鈴木", "スズキ"), ("高橋", "タカハシ"), ("田中", "タナカ"), ("伊藤", "イトウ"),
    ("渡辺", "ワタナベ"), ("山本", "ヤマモト"), ("中村", "ナカムラ"), ("小林", "コバヤシ"), ("加藤", "カトウ"),
    ("吉田", "ヨシダ"), ("山田", "ヤマダ"), ("佐々木", "ササキ"), ("山口", "ヤマグチ"), ("松本", "マツモト"),
    ("井上", "イノウエ"), ("木村", "キムラ"), ("林", "ハヤシ"), ("斎藤", "サイトウ"), ("清水", "シミズ"),
    ("山崎", "ヤマザキ"), ("森", "モリ"), ("池田", "イケダ"), ("橋本", "ハシモト"), ("阿部", "アベ"),
    ("石川", "イシカワ"), ("山下", "ヤマシタ"), ("中島", "ナカジマ"), ("石井", "イシイ"), ("小川", "オガワ"),
    ("前田", "マエダ"), ("岡田", "オカダ"), ("長谷川", "ハセガワ"), ("藤田", "フジタ"), ("後藤", "ゴトウ"),
    ("近藤", "コンドウ"), ("村上", "ムラカミ"), ("遠藤", "エンドウ"), ("青木", "アオキ"), ("坂本", "サカモト"),
    ("斉藤", "サイトウ"), ("福田", "フクダ"), ("太田", "オオタ"), ("西村", "ニシムラ"), ("藤井", "フジイ"),
    ("金子", "カネコ"), ("岡本", "オカモト"), ("藤原", "フジワラ"), ("中野", "ナカノ"), ("三浦", "ミウラ"),
    ("原田", "ハラダ"), ("中川", "ナカガワ"), ("松田", "マツダ"), ("竹内", "タケウチ"), ("小野", "オノ"),
    ("田村", "タムラ"), ("中山", "ナカヤマ"), ("和田", "ワダ"), ("石田", "イシダ"), ("森田", "モリタ"),
    ("上田", "ウエダ"), ("原", "ハラ"), ("内田", "ウチダ"), ("柴田", "シバタ"), ("酒井", "サカイ"),
    ("宮崎", "ミヤザキ"), ("横山", "ヨコヤマ"), ("高木", "タカギ"), ("安藤", "アンドウ"), ("宮本", "ミヤモト"),
    ("大野", "オオノ"), ("小島", "コジマ"), ("谷口", "タニグチ"), ("工藤", "クドウ"), ("今井", "イマイ"),
    ("高田", "タカダ"), ("増田", "マスダ"), ("丸山", "マルヤマ"), ("杉山", "スギヤマ"), ("村田", "ムラタ"),
    ("大塚", "オオツカ"), ("新井", "アライ"), ("小山", "コヤマ"), ("平野", "ヒラノ"), ("藤本", "フジモト"),
    ("河野", "コウノ"), ("上野", "ウエノ"), ("野口", "ノグチ"), ("武田", "タケダ"), ("松井", "マツイ"),
    ("千葉", "チバ"), ("岩崎", "イワサキ"), ("菅原", "スガワラ"), ("木下", "キノシタ"), ("久保", "クボ"),
    ("佐野", "サノ"), ("野村", "ノムラ"), ("松尾", "マツオ"), ("市川", "イチカワ"), ("菊地", "キクチ"),
    ("庄司", "ショウジ"), ("服部", "ハットリ"), ("新田", "ニッタ"), ("今野", "コンノ"), ("勅使河原", "テシガワラ"),
)

# (kanji, kana, era): era 0 = born before 1965, 1 = 1965–1994, 2 = 1995 and later
MALE_NAMES: tuple[tuple[str, str, int], ...] = (
    ("茂", "シゲル", 0), ("清", "キヨシ", 0), ("実", "ミノル", 0), ("勇", "イサム", 0), ("進", "ススム", 0),
    ("修", "オサム", 0), ("豊", "ユタカ", 0), ("正夫", "マサオ", 0), ("和夫", "カズオ", 0), ("幸男", "ユキオ", 0),
    ("昭", "アキラ", 0), ("武", "タケシ", 0), ("勝", "マサル", 0), ("一郎", "イチロウ", 0), ("博", "ヒロシ", 0),
    ("敏夫", "トシオ", 0), ("義男", "ヨシオ", 0), ("正", "タダシ", 0), ("功", "イサオ", 0), ("弘", "ヒロシ", 0),
    ("健一", "ケンイチ", 1), ("哲也", "テツヤ", 1), ("剛", "ツヨシ", 1), ("学", "マナブ", 1), ("誠", "マコト", 1),
    ("隆", "タカシ", 1), ("大輔", "ダイスケ", 1), ("直樹", "ナオキ", 1), ("浩二", "コウジ", 1), ("拓也", "タクヤ", 1),
    ("雄一", "ユウイチ", 1), ("秀樹", "ヒデキ", 1), ("信也", "シンヤ", 1), ("達也", "タツヤ", 1), ("和也", "カズヤ", 1),
    ("翔太", "ショウタ", 2), ("健太", "ケンタ", 2), ("亮", "リョウ", 2), ("悠斗", "ユウト", 2), ("蓮", "レン", 2),
    ("大和", "ヤマト", 2), ("湊", "ミナト", 2), ("蒼", "アオイ", 2), ("陸", "リク", 2), ("悠真", "ユウマ", 2),
    ("隼人", "ハヤト", 2), ("俊介", "シュンスケ", 2), ("大翔", "ヒロト", 2), ("樹", "イツキ", 2), ("拓海", "タクミ", 2),
)
FEMALE_NAMES: tuple[tuple[str, str, int], ...] = (
    ("幸子", "サチコ", 0), ("和子", "カズコ", 0), ("節子", "セツコ", 0), ("洋子", "ヨウコ", 0), ("京子", "キョウコ", 0),
    ("美智子", "ミチコ", 0), ("文子", "フミコ", 0), ("静江", "シズエ", 0), ("富子", "トミコ", 0), ("春子", "ハルコ", 0),
    ("千代子", "チヨコ", 0), ("美代子", "ミヨコ", 0), ("弘子", "ヒロコ", 0), ("悦子", "エツコ", 0), ("花子", "ハナコ", 0),
    ("恵子", "ケイコ", 1), ("久美子", "クミコ", 1), ("由美子", "ユミコ", 1), ("裕子", "ユウコ", 1), ("直美", "ナオミ", 1),
    ("明美", "アケミ", 1), ("真由美", "マユミ", 1), ("智子", "トモコ", 1), ("陽子", "ヨウコ", 1), ("典子", "ノリコ", 1),
    ("恵美", "エミ", 1), ("美穂", "ミホ", 1), ("純子", "ジュンコ", 1), ("香織", "カオリ", 1), ("理恵", "リエ", 1),
    ("愛", "アイ", 2), ("彩", "アヤ", 2), ("舞", "マイ", 2), ("美咲", "ミサキ", 2), ("陽菜", "ヒナ", 2),
    ("結衣", "ユイ", 2), ("葵", "アオイ", 2), ("凛", "リン", 2), ("さくら", "サクラ", 2), ("芽依", "メイ", 2),
    ("結菜", "ユイナ", 2), ("千尋", "チヒロ", 2), ("麻衣", "マイ", 2), ("佳奈", "カナ", 2), ("優花", "ユウカ", 2),
)
ERA_BOUNDS = (1965, 1995)  # birth year < 1965 -> era 0, < 1995 -> era 1, else 2

# wards (kanji, kana) and towns (kanji, kana) of the fictional city
WARDS: tuple[tuple[str, str], ...] = (
    ("中央区", "チュウオウク"), ("北区", "キタク"), ("南区", "ミナミク"), ("東区", "ヒガシク"), ("西区", "ニシク"),
)
TOWNS: tuple[tuple[str, str], ...] = (
    ("本町", "ホンチョウ"), ("栄町", "サカエチョウ"), ("緑町", "ミドリチョウ"), ("旭町", "アサヒチョウ"),
    ("若葉台", "ワカバダイ"), ("桜ケ丘", "サクラガオカ"), ("日の出町", "ヒノデチョウ"), ("朝日町", "アサヒマチ"),
    ("富士見", "フジミ"), ("松原", "マツバラ"), ("宮前町", "ミヤマエチョウ"), ("大和町", "ヤマトチョウ"),
    ("幸町", "サイワイチョウ"), ("新町", "シンマチ"), ("泉町", "イズミチョウ"), ("青葉台", "アオバダイ"),
    ("仲町", "ナカチョウ"), ("元町", "モトマチ"), ("住吉町", "スミヨシチョウ"), ("柳町", "ヤナギチョウ"),
)
BUILDINGS: tuple[tuple[str, str], ...] = (
    ("コーポ", "コーポ"), ("ハイツ", "ハイツ"), ("メゾン", "メゾン"), ("グランドハイツ", "グランドハイツ"),
    ("レジデンス", "レジデンス"), ("パレス", "パレス"),
)

FULLWIDTH_DIGITS = [chr(0xFF10 + i) for i in range(10)]


@functools.lru_cache(maxsize=1)
def _halfwidth_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for c in range(0xFF61, 0xFFA0):
        h = chr(c)
        full = unicodedata.normalize("NFKC", h)
        if len(full) == 1 and full != h:
            table.setdefault(ord(full), h)
        for mark in ("ﾞ", "ﾟ"):
            comp = unicodedata.normalize("NFKC", h + mark)
            if len(comp) == 1:
                table.setdefault(ord(comp), h + mark)
    table[ord("ー")] = "ｰ"
    table[0x3000] = " "
    return table


def to_halfwidth(s: str) -> str:
    """Full-width katakana (and hiragana via katakana) to half-width katakana; pool-level helper."""
    s = "".join(chr(ord(c) + 0x60) if 0x3041 <= ord(c) <= 0x3096 else c for c in s)
    return s.translate(_halfwidth_table())


def arrays(pairs) -> tuple[np.ndarray, np.ndarray]:
    """(kanji, half-width kana) object arrays of a pool, for vectorised ``take``."""
    kanji = np.array([p[0] for p in pairs], dtype=object)
    kana = np.array([to_halfwidth(p[1]) for p in pairs], dtype=object)
    return kanji, kana


def given_name_pools() -> dict[tuple[int, int], tuple[np.ndarray, np.ndarray]]:
    """{(sex, era): (kanji, kana)}; sex 1 male, 2 female."""
    out = {}
    for sex, pool in ((1, MALE_NAMES), (2, FEMALE_NAMES)):
        for era in (0, 1, 2):
            out[(sex, era)] = arrays([p for p in pool if p[2] == era])
    return out


def all_pool_kanji() -> list[str]:
    """Every kanji string the pools can emit (for the JIS X 0208 test)."""
    items = [p[0] for p in SURNAMES + WARDS + TOWNS + BUILDINGS]
    items += [p[0] for p in MALE_NAMES + FEMALE_NAMES]
    return items
