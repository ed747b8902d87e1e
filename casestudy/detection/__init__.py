"""The provider's side after the fact: is a suspect model distilled from our teacher?

    radioactivity   watermark traces in the suspect's outputs, exact binomial tests
    identity_probes does the suspect call itself by our deployment's name?
    traffic         which API accounts look like a distiller, from the request ledger
    suspects        serve a suspect model as a black box and query it as a customer
"""
