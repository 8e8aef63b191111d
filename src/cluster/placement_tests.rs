use super::*;
use crate::cluster::fake::FakeStore;

fn s(items: &[&str]) -> Vec<String> {
    items.iter().map(|i| i.to_string()).collect()
}

fn members(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|i| i.to_string()).collect()
}

fn with_instance(node: &str, state: InstanceState) -> ServiceView {
    let mut view = ServiceView::default();
    view.instances.insert(
        node.into(),
        Instance {
            status: "down".into(),
            state,
        },
    );
    view
}

#[test]
fn timings_follow_from_the_ttl() {
    let t = Timings::from_ttl(DEFAULT_TTL).unwrap();
    assert_eq!(t.renew, Duration::from_secs(2));
    assert_eq!(t.stop_budget, Duration::from_secs(5));
    assert_eq!(t.fence_after, Duration::from_secs(5));
    // The fence and its stop end no later than the lease can expire.
    assert!(t.fence_after + t.stop_budget <= t.ttl);
    // One lost renewal and a slow one do not fence.
    assert!(t.fence_after >= t.renew + 2 * CALL);
    assert!(t.stop_fits(Duration::from_secs(5)));
    assert!(!t.stop_fits(Duration::from_secs(6)));
    let e = Timings::from_ttl(Duration::from_secs(6)).unwrap_err();
    assert_eq!(e.errno(), libc::EINVAL);
    assert!(e.message().contains("too short"), "{e}");
    assert!(e.message().ends_with("(at least 7s)"), "{e}");
    assert!(Timings::from_ttl(Duration::from_secs(7)).is_ok());
    assert!(Timings::from_ttl(Duration::from_secs(30)).is_ok());
}

#[test]
fn a_lease_is_trusted_until_its_fence_and_lives_until_its_ttl() {
    let t = Timings::from_ttl(DEFAULT_TTL).unwrap();
    let lease = Lease {
        id: 1,
        sent: Duration::from_secs(100),
    };
    assert!(lease.confident(Duration::from_secs(104), &t));
    assert!(!lease.confident(Duration::from_secs(105), &t));
    assert_eq!(lease.fence_at(&t), Duration::from_secs(105));
    assert_eq!(lease.expires_no_sooner_than(&t), Duration::from_secs(110));
    assert_eq!(
        lease.left(Duration::from_secs(103), &t),
        Duration::from_secs(7)
    );
    assert_eq!(lease.left(Duration::from_secs(200), &t), Duration::ZERO);
}

#[test]
fn the_chosen_node_is_target_then_preferred_then_first_alive() {
    let nodes = s(&["a", "b", "c"]);
    let none = ServiceView::default();
    let all = members(&["a", "b", "c"]);
    assert_eq!(choose(&nodes, &[], None, &all, &none), Some("a"));
    assert_eq!(choose(&nodes, &s(&["b"]), None, &all, &none), Some("b"));
    assert_eq!(
        choose(&nodes, &s(&["b"]), Some("c"), &all, &none),
        Some("c")
    );
    // Dead nodes are skipped, whatever asked for them.
    let bc = members(&["b", "c"]);
    assert_eq!(choose(&nodes, &[], None, &bc, &none), Some("b"));
    let ac = members(&["a", "c"]);
    assert_eq!(choose(&nodes, &s(&["b"]), None, &ac, &none), Some("a"));
    assert_eq!(choose(&nodes, &[], Some("b"), &ac, &none), Some("a"));
    // A member not in nodes is never chosen; nobody alive: nobody.
    assert_eq!(choose(&nodes, &[], None, &members(&["z"]), &none), None);
    // Failed and frozen instances are left out.
    let failed = with_instance("a", InstanceState::Failed);
    assert_eq!(choose(&nodes, &[], None, &all, &failed), Some("b"));
    let frozen = with_instance("b", InstanceState::Frozen);
    assert_eq!(choose(&nodes, &s(&["b"]), None, &all, &frozen), Some("a"));
    let up = with_instance("a", InstanceState::Up);
    assert_eq!(choose(&nodes, &[], None, &all, &up), Some("a"));
}

fn local(state: InstanceState, running: bool) -> Local {
    Local {
        state,
        frozen: false,
        running,
    }
}

fn wanted(owner: Option<&str>) -> ServiceView {
    ServiceView {
        owner: owner.map(|o| (o.to_string(), 7)),
        expect_up: true,
        ..ServiceView::default()
    }
}

#[test]
fn only_the_chosen_node_claims_and_only_the_owner_starts() {
    let nodes = s(&["a", "b"]);
    let all = members(&["a", "b"]);
    let down = local(InstanceState::Down, false);
    let d = |me, service: &ServiceView, l| decide(me, &nodes, &[], true, &all, service, l);
    assert_eq!(d("a", &wanted(None), down), Decision::Claim);
    assert_eq!(d("b", &wanted(None), down), Decision::Idle);
    assert_eq!(d("a", &wanted(Some("a")), down), Decision::Start);
    assert_eq!(
        d("a", &wanted(Some("a")), local(InstanceState::Up, true)),
        Decision::Idle
    );
    assert_eq!(d("b", &wanted(Some("a")), down), Decision::Idle);
    // Not wanted: nobody claims; the owner stops and lets go.
    let unwanted = ServiceView::default();
    assert_eq!(d("a", &unwanted, down), Decision::Idle);
    let mut owned_unwanted = wanted(Some("a"));
    owned_unwanted.expect_up = false;
    assert_eq!(
        d("a", &owned_unwanted, local(InstanceState::Up, true)),
        Decision::StopAndRelease
    );
    assert_eq!(d("a", &owned_unwanted, down), Decision::Release);
}

#[test]
fn a_node_that_runs_what_it_does_not_own_stops_it() {
    let nodes = s(&["a", "b"]);
    let all = members(&["a", "b"]);
    // A returning node finds its old copy running: another owns it.
    let returning = local(InstanceState::Down, true);
    let d = decide("b", &nodes, &[], true, &all, &wanted(Some("a")), returning);
    assert_eq!(d, Decision::Stop);
    // Nobody owns it and this node is not the one chosen.
    let d = decide("b", &nodes, &[], true, &all, &wanted(None), returning);
    assert_eq!(d, Decision::Stop);
    // Nobody owns it and this node is chosen: it claims, keeping it up.
    let d = decide("a", &nodes, &[], true, &all, &wanted(None), returning);
    assert_eq!(d, Decision::Claim);
}

#[test]
fn a_node_without_a_trusted_lease_only_stops() {
    let nodes = s(&["a", "b"]);
    let all = members(&["a", "b"]);
    for state in [InstanceState::Up, InstanceState::Starting] {
        let d = decide(
            "a",
            &nodes,
            &[],
            false,
            &all,
            &wanted(Some("a")),
            local(state, false),
        );
        assert_eq!(d, Decision::Stop, "{state:?}");
    }
    let down = local(InstanceState::Down, false);
    for service in [wanted(None), wanted(Some("a"))] {
        let d = decide("a", &nodes, &[], false, &all, &service, down);
        assert_eq!(d, Decision::Idle);
    }
}

#[test]
fn frozen_instances_are_left_alone() {
    let nodes = s(&["a"]);
    let all = members(&["a"]);
    let mut frozen = wanted(None);
    frozen.frozen = true;
    let down = local(InstanceState::Down, false);
    assert_eq!(
        decide("a", &nodes, &[], true, &all, &frozen, down),
        Decision::Idle
    );
    let here = Local {
        frozen: true,
        ..down
    };
    assert_eq!(
        decide("a", &nodes, &[], true, &all, &wanted(None), here),
        Decision::Idle
    );
    // Fencing stops even a frozen instance: once a peer claims the
    // service, a copy left running here would be a second one.
    let up = Local {
        frozen: true,
        ..local(InstanceState::Up, true)
    };
    assert_eq!(
        decide("a", &nodes, &[], false, &all, &wanted(Some("a")), up),
        Decision::Stop
    );
}

#[test]
fn a_switch_moves_the_service_and_a_failure_gives_it_away() {
    let nodes = s(&["a", "b"]);
    let all = members(&["a", "b"]);
    let up = local(InstanceState::Up, true);
    let mut switching = wanted(Some("a"));
    switching.target = Some("b".into());
    assert_eq!(
        decide("a", &nodes, &[], true, &all, &switching, up),
        Decision::StopAndRelease
    );
    // Released: the target claims, the old owner does not.
    switching.owner = None;
    let down = local(InstanceState::Down, false);
    assert_eq!(
        decide("b", &nodes, &[], true, &all, &switching, down),
        Decision::Claim
    );
    assert_eq!(
        decide("a", &nodes, &[], true, &all, &switching, down),
        Decision::Idle
    );
    // A target that is dead does not move the service.
    let mut dead_target = wanted(Some("a"));
    dead_target.target = Some("b".into());
    let only_a = members(&["a"]);
    assert_eq!(
        decide("a", &nodes, &[], true, &only_a, &dead_target, up),
        Decision::Idle
    );
    // A failed start: stop, release; and the failed node claims no more.
    let failed = local(InstanceState::Failed, true);
    assert_eq!(
        decide("a", &nodes, &[], true, &all, &wanted(Some("a")), failed),
        Decision::StopAndRelease
    );
    assert_eq!(
        decide(
            "a",
            &nodes,
            &[],
            true,
            &all,
            &wanted(None),
            local(InstanceState::Failed, false)
        ),
        Decision::Idle
    );
}

#[test]
fn the_view_reads_every_key_and_ignores_unknown_ones() {
    let kv = |key: &str, value: &str, lease| Kv {
        key: format!("{PREFIX}{key}"),
        value: value.into(),
        lease,
    };
    let view = View::of(&[
        kv("members/a", "{}", 1),
        kv("members/b", "{}", 2),
        kv("svc/app/owner", "a", 1),
        kv("svc/app/expect", "up", 0),
        kv("svc/app/target", "b", 0),
        kv("svc/app/frozen", "a", 0),
        kv("svc/app/instance/a", "up up", 1),
        kv("svc/app/instance/b", "garbage", 2),
        kv("svc/app/later", "x", 0),
        kv("svc/other/expect", "down", 0),
        kv("elsewhere", "x", 0),
        Kv {
            key: "/other/prefix".into(),
            value: String::new(),
            lease: 0,
        },
    ]);
    assert_eq!(view.members, members(&["a", "b"]));
    let app = view.service("app");
    assert_eq!(app.owner, Some(("a".into(), 1)));
    assert!(app.expect_up && app.frozen);
    assert_eq!(app.target.as_deref(), Some("b"));
    assert_eq!(app.instances.len(), 1);
    assert_eq!(app.instances["a"].state, InstanceState::Up);
    assert!(!view.service("other").expect_up);
    assert_eq!(view.service("none"), ServiceView::default());
}

#[test]
fn state_words_round_trip() {
    for state in InstanceState::ALL {
        assert_eq!(InstanceState::parse(state.as_str()), Some(state));
    }
    assert_eq!(InstanceState::parse("running"), None);
}

#[tokio::test]
async fn a_claim_is_won_once_and_goes_with_its_lease() {
    let store = FakeStore::new();
    let t = Timings::from_ttl(DEFAULT_TTL).unwrap();
    let a = join(&store, "a", &t, Duration::ZERO).await.unwrap();
    let b = join(&store, "b", &t, Duration::ZERO).await.unwrap();
    assert!(claim(&store, "app", "a", a.id).await.unwrap());
    assert!(!claim(&store, "app", "b", b.id).await.unwrap());
    assert!(!claim(&store, "app", "a", a.id).await.unwrap());
    // b cannot release a's claim.
    assert!(!release(&store, "app", "b").await.unwrap());
    assert_eq!(
        store.value(&service_key("app", "owner")).as_deref(),
        Some("a")
    );
    // a stops renewing; b does: a's claim and membership expire.
    store.advance(Duration::from_secs(6));
    assert!(renew(&store, b, Duration::from_secs(6))
        .await
        .unwrap()
        .is_some());
    store.advance(Duration::from_secs(4));
    assert_eq!(store.value(&service_key("app", "owner")), None);
    assert_eq!(store.value(&member_key("a")), None);
    assert!(renew(&store, a, Duration::from_secs(10))
        .await
        .unwrap()
        .is_none());
    assert!(claim(&store, "app", "b", b.id).await.unwrap());
    assert!(release(&store, "app", "b").await.unwrap());
    // Without quorum nothing is claimed, and the error is EAGAIN.
    store.set_quorum(false);
    let e = claim(&store, "app", "b", b.id).await.unwrap_err();
    assert_eq!(e.errno(), libc::EAGAIN);
    let e = renew(&store, b, Duration::from_secs(11)).await.unwrap_err();
    assert_eq!(e.errno(), libc::EAGAIN);
}

#[test]
fn nodes_whose_file_differs_from_the_owners_are_named() {
    let mut service = ServiceView::default();
    for (node, digest) in [("a", "d1"), ("b", "d1"), ("c", "d2")] {
        service.digests.insert(node.into(), digest.into());
    }
    // No owner: compared with this node's own file.
    assert_eq!(service.differing("a", "d1"), ("a".into(), vec!["c".into()]));
    assert_eq!(
        service.differing("c", "d2"),
        ("c".into(), vec!["a".into(), "b".into()])
    );
    // The owner's file is the reference, wherever this is read.
    service.owner = Some(("c".into(), 7));
    assert_eq!(
        service.differing("a", "d1"),
        ("c".into(), vec!["a".into(), "b".into()])
    );
    // An owner that published nothing yet: nothing to compare.
    service.owner = Some(("z".into(), 7));
    assert!(service.differing("a", "d1").1.is_empty());
    // As sha256sum prints it.
    assert_eq!(
        file_digest(""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

#[test]
fn the_view_reads_each_nodes_digest() {
    let kvs = [Kv {
        key: config_key("app", "b"),
        value: "d1".into(),
        lease: 3,
    }];
    assert_eq!(View::of(&kvs).service("app").digests["b"], "d1");
}
