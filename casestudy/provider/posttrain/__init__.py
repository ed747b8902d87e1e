"""The provider's own post-training of the served teacher: its identity and its proprietary skill.

    identity  Identity, the provider's and the control deployment's, system prompt, spotting the name in text
    data      the files in data/identity/: training and held-out questions, probes, facts, reviews, ordinary prompts
    skill     the proprietary skill: English into Veltan by the house method, from bought translations
    evaluate  identity rate, skill, factual and sentiment accuracy of a deployed model (answers: casestudy.chat)
    check     the product check: the tuned model against the public model on the provider's held-out sets
    tune      post_train(base, identity, TuneSettings()) -> the identity and the skill tuned in, cached by fingerprint
"""
