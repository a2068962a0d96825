//! Live tallies over WebSocket with a real client: snapshot, updates, hidden results, the final
//! message, dropping a stalled watcher, and the handshake's checks.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

use crate::proposals::{compound, create, open, road_repair, vote};
use crate::support::{TestApp, spawn_app, spawn_app_with};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn connect(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    origin: Option<&str>,
) -> Result<Socket, WsError> {
    let url = format!("ws://{}/api/v1{path}", app.addr);
    let mut request = url.into_client_request().unwrap();
    if let Some(token) = token {
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("origin", origin.parse().unwrap());
    }
    connect_async(request).await.map(|(socket, _)| socket)
}

/// The next JSON message (skipping pings), within five seconds.
async fn next_json(socket: &mut Socket) -> Value {
    loop {
        let message = timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("a message within 5 s")
            .expect("the stream is open")
            .expect("a readable frame");
        match message {
            Message::Text(text) => return serde_json::from_str(&text).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_watcher_gets_a_snapshot_then_updates_then_the_final_result() {
    let app = spawn_app().await;
    let c = compound(&app, "Live").await;
    let p = create(&app, &c, road_repair(json!({}))).await;
    open(&app, &c, &p).await;
    let mut watcher = connect(
        &app,
        &format!("/proposals/{p}/live"),
        Some(&c.voters["sun"]),
        None,
    )
    .await
    .unwrap();

    let snapshot = next_json(&mut watcher).await;
    assert_eq!(snapshot["type"], "snapshot");
    assert_eq!(snapshot["turnout"]["headcount"], 0);
    assert_eq!(snapshot["electorate"]["headcount"], 4);

    vote(&app, &c.voters["wang"], &p, "yes", "w").await;
    let update = next_json(&mut watcher).await;
    assert_eq!(update["type"], "update");
    assert_eq!(update["turnout"]["headcount"], 1);
    assert_eq!(update["tally"]["yes"]["weights"]["area"], "179.67");

    app.post_json(&format!("/proposals/{p}/close"), &c.officer, json!({}))
        .await;
    let last = next_json(&mut watcher).await;
    assert_eq!(last["type"], "final");
    assert_eq!(last["state"], "closed");
    assert_eq!(last["outcome"], "no_quorum");
    let end = timeout(Duration::from_secs(5), watcher.next())
        .await
        .unwrap();
    assert!(
        matches!(end, Some(Ok(Message::Close(_))) | None | Some(Err(_))),
        "{end:?}"
    );
}

#[tokio::test]
async fn hidden_results_are_never_sent_before_close() {
    let app = spawn_app().await;
    let c = compound(&app, "Hidden live").await;
    let p = create(&app, &c, road_repair(json!({"visibility": "after_close"}))).await;
    open(&app, &c, &p).await;
    let mut watcher = connect(
        &app,
        &format!("/proposals/{p}/live"),
        Some(&c.officer),
        None,
    )
    .await
    .unwrap();
    let mut frames = vec![next_json(&mut watcher).await];
    for (voter, choice) in [("wang", "yes"), ("li", "no"), ("zhao", "abstain")] {
        vote(&app, &c.voters[voter], &p, choice, voter).await;
        frames.push(next_json(&mut watcher).await);
    }
    assert_eq!(frames.last().unwrap()["turnout"]["headcount"], 3);
    for frame in &frames {
        assert_eq!(frame["results_visible"], false);
        for hidden in ["tally", "outcome", "level", "certainty"] {
            assert!(frame.get(hidden).is_none(), "{hidden} leaked in {frame}");
        }
        let text = frame.to_string();
        assert!(
            !text.contains("approval"),
            "an approval condition leaked: {text}"
        );
        assert!(!text.contains("\"yes\""), "{text}");
    }
    app.post_json(&format!("/proposals/{p}/close"), &c.officer, json!({}))
        .await;
    let last = next_json(&mut watcher).await;
    assert_eq!(last["type"], "final");
    assert_eq!(
        last["tally"]["yes"]["headcount"], 1,
        "after close the result is public"
    );
}

#[tokio::test]
async fn a_stalled_watcher_is_dropped_while_others_keep_receiving() {
    let app = spawn_app_with(|config| {
        config.live.ping_interval_millis = 200;
        config.live.max_missed_pongs = 2;
    })
    .await;
    let c = compound(&app, "Stalled").await;
    let p = create(&app, &c, road_repair(json!({}))).await;
    open(&app, &c, &p).await;
    let path = format!("/proposals/{p}/live");
    let mut stalled = connect(&app, &path, Some(&c.voters["li"]), None)
        .await
        .unwrap();
    let mut reader = connect(&app, &path, Some(&c.voters["sun"]), None)
        .await
        .unwrap();
    assert_eq!(next_json(&mut reader).await["type"], "snapshot");

    // The stalled client reads nothing (so answers no ping) for well over 3 ping intervals,
    // while the reader keeps reading.
    let keep_reading = async {
        let mut seen = Vec::new();
        let until = tokio::time::Instant::now() + Duration::from_millis(2500);
        while let Ok(Some(Ok(message))) = tokio::time::timeout_at(until, reader.next()).await {
            if let Message::Text(text) = message {
                seen.push(serde_json::from_str::<Value>(&text).unwrap());
            }
        }
        seen
    };
    let votes = async {
        tokio::time::sleep(Duration::from_millis(900)).await;
        vote(&app, &c.voters["wang"], &p, "yes", "w").await;
    };
    let (seen, ()) = tokio::join!(keep_reading, votes);
    assert!(
        seen.iter().any(|m| m["turnout"]["headcount"] == 1),
        "the reading watcher saw the new ballot: {seen:?}"
    );

    // The stalled client's stream has been closed by the server: draining it ends.
    let drained = timeout(Duration::from_secs(5), async {
        let mut frames = 0;
        while let Some(Ok(message)) = stalled.next().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
            frames += 1;
        }
        frames
    })
    .await
    .expect("the server closed the stalled connection");
    assert!(drained < 100);
    // A pong now is too late: the connection is gone.
    let _ = stalled.send(Message::Pong(Default::default())).await;
}

#[tokio::test]
async fn the_handshake_refuses_foreign_origins_and_strangers() {
    let app = spawn_app().await;
    let c = compound(&app, "Handshake").await;
    let p = create(&app, &c, road_repair(json!({}))).await;
    open(&app, &c, &p).await;
    let path = format!("/proposals/{p}/live");

    let foreign = connect(
        &app,
        &path,
        Some(&c.voters["li"]),
        Some("http://evil.example"),
    )
    .await;
    match foreign {
        Err(WsError::Http(response)) => assert_eq!(response.status(), StatusCode::FORBIDDEN),
        other => panic!("foreign origin accepted: {:?}", other.map(|_| ())),
    }
    let anonymous = connect(&app, &path, None, None).await;
    match anonymous {
        Err(WsError::Http(response)) => assert_eq!(response.status(), StatusCode::UNAUTHORIZED),
        other => panic!("anonymous watcher accepted: {:?}", other.map(|_| ())),
    }
    let own = connect(&app, &path, Some(&c.voters["li"]), Some(&app.base_url)).await;
    assert!(own.is_ok(), "our own origin is accepted");
}

#[tokio::test]
async fn the_community_feed_announces_openings_and_closings() {
    let app = spawn_app().await;
    let c = compound(&app, "Feed").await;
    let mut feed = connect(
        &app,
        &format!("/communities/{}/live", c.community),
        Some(&c.voters["zhao"]),
        None,
    )
    .await
    .unwrap();
    assert_eq!(next_json(&mut feed).await["type"], "hello");
    let p = create(&app, &c, road_repair(json!({}))).await;
    open(&app, &c, &p).await;
    let opened = next_json(&mut feed).await;
    assert_eq!(
        (opened["type"].as_str(), opened["proposal"].as_str()),
        (Some("opened"), Some(p.as_str()))
    );
    app.post_json(&format!("/proposals/{p}/close"), &c.officer, json!({}))
        .await;
    assert_eq!(next_json(&mut feed).await["type"], "closed");
}
