"""The synthetic municipality (合成団体): a deterministic generator of a consistent city's inbound
interface files (国保資格, 住民税 当初, 特別徴収対象者 Z21, 口座振替依頼書) and a manifest of what
it wrote, for tests and benchmarks at any size (``kokuho synth --insured N --seed S``).

- ``config``: the knobs (config/synth.yaml)
- ``pools``: name and address pools (kanji, kana)
- ``population``: vectorised generation of one chunk of households
- ``output``: the files (codec FileWriter) and the manifest
- ``city``: the chunk loop (``generate_city``)
- ``cli``: ``kokuho synth`` (``main(argv) -> int``)
"""
