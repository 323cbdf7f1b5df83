//! Unit tests of the edge-triggered set: edges, drained reads, listeners, failure.

use super::*;
use std::net::TcpListener;
use std::task::Waker;

fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    server.set_nonblocking(true).unwrap();
    (server, client)
}

fn poll_read(io: &mut EdgeIo, buf: &mut [u8]) -> Poll<io::Result<usize>> {
    Pin::new(io).poll_read(&mut Context::from_waker(Waker::noop()), buf)
}

#[test]
fn a_connection_waits_for_an_edge_after_would_block_and_reads_after_one() {
    let (set, _driver) = EdgeSet::new().unwrap();
    let (server, mut client) = pair();
    let mut io = set.register(server, false).unwrap();
    let mut buf = [0u8; 16];
    // Nothing sent yet: the read finds the socket empty and waits.
    assert!(poll_read(&mut io, &mut buf).is_pending());
    client.write_all(b"hi").unwrap();
    // No driver runs here: without an edge the connection does not even look.
    assert!(poll_read(&mut io, &mut buf).is_pending());
    assert!(set.0.drain().unwrap() >= 1);
    assert!(matches!(poll_read(&mut io, &mut buf), Poll::Ready(Ok(2))));
    assert_eq!(&buf[..2], b"hi");
    // A short read drained the socket: the next read waits without a system call.
    assert!(poll_read(&mut io, &mut buf).is_pending());
    drop(client);
    assert!(set.0.drain().unwrap() >= 1);
    assert!(matches!(poll_read(&mut io, &mut buf), Poll::Ready(Ok(0))));
    // End of input is a state: it is seen again without a new edge.
    assert!(matches!(poll_read(&mut io, &mut buf), Poll::Ready(Ok(0))));
}

#[test]
fn waiting_first_reads_bytes_already_there_once_the_registration_edge_is_drained() {
    let (set, _driver) = EdgeSet::new().unwrap();
    let (server, mut client) = pair();
    // The request is in the socket before the connection joins the set.
    client.write_all(b"early").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let mut io = set.register(server, true).unwrap();
    let mut buf = [0u8; 16];
    // No edge drained yet: the first read waits instead of trying the socket.
    assert!(poll_read(&mut io, &mut buf).is_pending());
    // The registration itself reported the bytes already there.
    assert_eq!(set.0.drain(), Some(1));
    assert!(matches!(poll_read(&mut io, &mut buf), Poll::Ready(Ok(5))));
    assert_eq!(&buf[..5], b"early");
}

#[test]
fn a_listener_waits_for_an_edge_after_an_empty_queue_and_leaves_the_set_when_dropped() {
    let (set, _driver) = EdgeSet::new().unwrap();
    let std_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = std_listener.local_addr().unwrap();
    let listener = Arc::new(Async::new(std_listener).unwrap());
    let edge = set.register_listener(listener.clone()).unwrap();
    let seen = edge.edges();
    assert!(listener.get_ref().accept().is_err(), "the queue is empty");
    let mut cx = Context::from_waker(Waker::noop());
    {
        let wait = std::pin::pin!(edge.wait(seen));
        assert!(wait.poll(&mut cx).is_pending());
    }
    let _client = TcpStream::connect(addr).unwrap();
    // The connection's arrival is an edge of the set.
    let end = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while set.0.drain() == Some(0) {
        assert!(
            std::time::Instant::now() < end,
            "no edge for the new connection"
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    {
        let wait = std::pin::pin!(edge.wait(seen));
        assert!(matches!(wait.poll(&mut cx), Poll::Ready(Ok(()))));
    }
    assert!(listener.get_ref().accept().is_ok());
    drop(edge);
    // Out of the set: another connection is no edge of it.
    let _second = TcpStream::connect(addr).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert_eq!(set.0.drain(), Some(0));
}

#[test]
fn a_failed_set_fails_waiting_connections_instead_of_leaving_them_waiting() {
    let (set, _driver) = EdgeSet::new().unwrap();
    let (server, mut client) = pair();
    let mut io = set.register(server, false).unwrap();
    let mut buf = [0u8; 16];
    assert!(poll_read(&mut io, &mut buf).is_pending());
    assert!(!set.failed());
    set.0.fail(&io::Error::other("test"));
    assert!(set.failed());
    // Woken; the socket is still empty, and no edge will ever come: an error.
    match poll_read(&mut io, &mut buf) {
        Poll::Ready(Err(e)) => assert!(e.to_string().contains("epoll set failed"), "{e}"),
        other => panic!("expected an error, got {other:?}"),
    }
    // Bytes already there are still delivered.
    client.write_all(b"x").unwrap();
    assert!(matches!(poll_read(&mut io, &mut buf), Poll::Ready(Ok(1))));
}
