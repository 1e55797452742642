//! The `tessera` command.

fn main() {
    println!("tessera: the server arrives with the server issue");
}
