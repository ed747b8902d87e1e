"""One module per notebook: what it computes, its targets and verdicts, and its metrics.json.

    collect   01_collect   deployments, both arms, the harvest's metrics
    distill   02_distill   students trained and evaluated, the verdict against the profile's target
    cost      03_cost      the run's cost beside the teacher's and the published cases
    detect    04_detect    radioactivity, calibration, dose, identity, traffic, evasion, the targets

The story notebook (00) computes nothing and has no module. Figures are in the plots
module of the package they belong to.
"""
