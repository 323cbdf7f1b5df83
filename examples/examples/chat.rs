//! A chat room over long-poll and Server-Sent Events on its own (the demo serves it at
//! `/chat/` too).
//!
//! Run with: `cargo run --example chat -- 127.0.0.1:8081`, then open the printed URL in two
//! windows (add `?mode=poll` for long-poll).

use h1_server::Server;

fn main() -> std::io::Result<()> {
    let addr = examples::listen_addr("127.0.0.1:8081");
    smol::block_on(async {
        let server = Server::bind(addr.as_str()).await?;
        let mut router = examples::chat::router("");
        router.get("/site.css", |_req: h1_server::Request| async {
            examples::stylesheet()
        });
        let handle = server.serve(router);
        println!(
            "chat on http://{}/ (long-poll: /?mode=poll)",
            handle.local_addr()
        );
        std::future::pending::<()>().await;
        Ok(())
    })
}
