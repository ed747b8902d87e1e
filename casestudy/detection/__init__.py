"""The provider's side after the fact: is a suspect model distilled from our teacher?

    radioactivity   watermark traces in the suspect's outputs, exact binomial tests, p-value against queries
    identity_probes  does the suspect call itself by our deployment's name?
    copied_mistakes  where the teacher errs on fresh prompts, does the suspect repeat its exact error? (Fisher vs the competitor)
    traffic         which API accounts look like a distiller, from the request ledger; the ledger's view
    plots           the figures of notebooks 01 (the ledger) and 04
"""
