//! A TCP proxy the tests can cut: between the app and a real dependency, it
//! plays the dependency going away, as a restart or a crash does (live
//! connections closed, new ones refused), and coming back on the same port.

use std::net::SocketAddr;

use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

pub struct Proxy {
    pub addr: SocketAddr,
    /// `Some(listener)` brings the proxy up, `None` takes it down.
    listeners: mpsc::UnboundedSender<Option<TcpListener>>,
    up: watch::Sender<bool>,
}

impl Proxy {
    /// A proxy on a free loopback port to `target` (`host:port`).
    pub async fn to(target: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (listeners, mut next) = mpsc::unbounded_channel::<Option<TcpListener>>();
        let up = watch::channel(true).0;
        let state = up.subscribe();
        tokio::spawn(async move {
            let mut current = Some(listener);
            loop {
                let accepted = match &current {
                    Some(listener) => tokio::select! {
                        accepted = listener.accept() => accepted.ok(),
                        change = next.recv() => match change {
                            Some(change) => { current = change; None }
                            None => break,
                        },
                    },
                    None => match next.recv().await {
                        Some(change) => {
                            current = change;
                            None
                        }
                        None => break,
                    },
                };
                if let Some((client, _)) = accepted {
                    tokio::spawn(relay(client, target.clone(), state.clone()));
                }
            }
        });
        Proxy {
            addr,
            listeners,
            up,
        }
    }

    /// The dependency goes away: connections are closed, new ones refused.
    pub fn down(&self) {
        self.up.send_replace(false);
        self.listeners.send(None).unwrap();
    }

    /// Back on the same port, listening before this returns.
    pub fn up(&self) {
        let listener = std::net::TcpListener::bind(self.addr).unwrap();
        listener.set_nonblocking(true).unwrap();
        self.up.send_replace(true);
        self.listeners
            .send(Some(TcpListener::from_std(listener).unwrap()))
            .unwrap();
    }
}

async fn relay(mut client: TcpStream, target: String, mut up: watch::Receiver<bool>) {
    let Ok(mut server) = TcpStream::connect(&target).await else {
        return;
    };
    tokio::select! {
        _ = copy_bidirectional(&mut client, &mut server) => {}
        // Both ends are dropped: the connection closes under the app.
        _ = up.wait_for(|up| !*up) => {}
    }
}
