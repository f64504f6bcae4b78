"""Catalogue sync: read Hugging Face model cards, derive training metrics and keep synced models up to date.

cards.py parses card metadata and text (pure), derive.py turns one Hub model into a training record
(pure), store.py writes records to the database, runner.py runs a sync as a background job, and
history.py reads runs back for the admin screen.
"""
