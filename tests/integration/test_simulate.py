"""The simulator through the real sequence and vote services."""

from pnyx.rotation import simulate


def test_a_seeded_simulation_through_the_services(app, database):
    kernel = app.extensions["pnyx"]
    cast = []
    report = simulate.run(
        database,
        kernel.store,
        kernel.signer,
        strategy="kg",
        n_proposals=40,
        budget_per_proposal=15,
        seed=5,
        platform_domain="pnyx.test",
        on_vote=lambda: cast.append(1),
    )
    # run() itself checks the database's trusted counters against the votes cast.
    assert report.votes_spent == len(cast) == 600
    assert report.votes_min >= 10 and report.floor_before_ceiling
    assert 0 <= report.zone_error <= 1 and set(report.zone_error_by_segment) == {
        "rural",
        "medium",
        "urban",
    }
