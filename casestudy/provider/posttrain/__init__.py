"""The deployed teacher's identity: the provider's own post-training.

    text      Identity, the provider's and the control deployment's, system prompt, spotting the name in text
    data      the files in data/identity/: training and held-out questions, probes, facts, ordinary prompts
    evaluate  identity rate, skill and factual accuracy of a deployed model (answers: casestudy.chat)
    tune      tune_identity(base, identity, TuneSettings()) -> the identity fine-tuned in, cached by fingerprint
"""
