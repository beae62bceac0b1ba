"""The chapter evaluation set: a topic corpus, episode shapes, and the code that renders them
as audio (espeak-ng) or as text-only transcripts, and measures chapters against the truth.

bench/make_eval_set.py makes the set under out/; bench/chapters.py evaluates it.
"""
