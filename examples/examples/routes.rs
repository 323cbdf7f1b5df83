//! The router section of the demo on its own: `/admin` behind basic authentication
//! (admin/admin), static files under `/static/`, `/users/:id` with a visit cookie, and
//! a redirect at `/go-home`. Logs every response (status, bytes, duration).
//!
//! Run with: `cargo run --example routes -- 127.0.0.1:8080`
//! (the first argument is the listen address; default 127.0.0.1:8080).

use h1_server::Server;

fn main() -> std::io::Result<()> {
    examples::init_logger(log::LevelFilter::Info);
    let addr = examples::listen_addr("127.0.0.1:8080");
    let mut router = examples::routes::router(&examples::routes::static_dir())?;
    router.get("/site.css", |_req: h1_server::Request| async {
        examples::stylesheet()
    });
    smol::block_on(async {
        let handle = Server::bind(addr.as_str()).await?.serve(router);
        println!("listening on http://{}", handle.local_addr());
        std::future::pending().await
    })
}
