//! `omswatch-test-sweep`, run by `scripts/cleanup.sh`: removes what test processes killed before
//! their cleanup ran left behind (their processes, network namespaces, bridges, temp dirs), and
//! nothing that a running test, of this checkout or any other, still holds.

use omswatch_tests::sweep_leftovers;

fn main() -> anyhow::Result<()> {
    let slots = sweep_leftovers()?;
    if slots.is_empty() {
        println!("omswatch-test-sweep: no network slot of a dead test process was left");
    } else {
        println!("omswatch-test-sweep: removed the namespaces and bridges of dead slots {slots:?}");
    }
    Ok(())
}
