"""Students trained on the harvest (notebook 02).

    student     where a student starts (StudentSpec: public, public@<share>, scratch-<size>); small Llama configurations
    prune       the public model cut to a share of its parameters by importance (Minitron, ShortGPT)
    packing     chat records -> token ids (casestudy.chat's encoder); packed rows with restarting positions
    losses      cross-entropy on completions and the top-k KL with an "other" bucket
    trunk       the frozen lower layers of a top-layer fine-tune, run once per packed row and shared
    train       the training loop: one process or many (accelerate), checkpoints and resume
    cli         `python -m casestudy.distiller.students`: train one student from a run's collection; the same
                command under `accelerate launch` / `torchrun` scales out unchanged
    evaluate    held-out CE, gold accuracy (answers: casestudy.chat), top-k facts; cached evaluation of saved students
    grading     gold-answer grading, accuracy tables (intervals: casestudy.intervals), balanced accuracy of closed families
    bench       packed against padded batches, in real tokens per second
    plots       notebook 02's figures
"""
