"""What the claimant says about their situation: years of contributions, age, year of birth,
gender, how the job ended, city, province and benefits named, as facts with the span that said
each (`extract`). Pure: no Rasa. bot/components/situation_entities.py makes them Rasa entities;
docs/entities.md describes each.
"""
