"""The portal's date formats (settings.FORMAT_MODULE_PATH), over Django's for each language.

Every language writes dates day first and times on 24 hours, and an instant with its time the
same way on every page, in figures: Django's `en` is American (11/27/2026, 10 a.m.) and its `it`
spells a capitalised weekday and month ("Mercoledì 02 Dicembre"). Long dates with the weekday,
spelt as each language wants them, come from core.dates.
"""
