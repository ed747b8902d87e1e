"""The staging of the story, belonging to neither actor.

    deployments   which of the provider's deployments run (main, control), the derived watermark key,
                  the accounts opened on them (the distiller's, the ordinary customers')
    customers     simulated ordinary customers sharing the API during a collection (a simulation)
    investigator  the provider's investigator: query a suspect model as a black box, from an account of its own
    mixes         the dose-response data mixes and the distiller's evasion by scrubbing the identity
    language      Veltan, the proprietary skill's language (the answer key), and the translators both labs hire
    annotation    the translation work bought: the provider's, its check set, the honest competitor's (data/skill/)
    frozen        a finished collection packed for a workshop (checked, byte-exact) and unpacked on a laptop
"""
