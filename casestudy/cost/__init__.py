"""What distillation costs, measured from a run's records and beside published figures.

    prices     the dated price table (API tokens, device-hours, power, paid translation) and the API bill
    flops      training and generation FLOPs (6·N·D and 2·N per token, plus attention)
    compute    device time of each stage, priced and turned into energy
    published  DeepSeek-V3, DeepSeek-R1 distillation and Stanford Alpaca, recomputed
    headline   student quality against cost, both as fractions of the teacher's
    sides      three routes to the skill priced alike (created, copied, built), their ratios and break-even
    scaling    what collection plus distillation would cost at larger scale
    plots      notebook 03's figures
"""
