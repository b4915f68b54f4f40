"""IllService over a real SQLite store: accounts, the order rules, routing, answers, deadlines."""

from __future__ import annotations

import threading

import pytest
from illdata import ILL_CONFIG, Clock, config_of, ill_home

from index.ill import Article, IllRefused, IllService, OrderRequest, Refusal, Status
from index.store.catalog import CatalogStore


@pytest.fixture
def network(tmp_path):
    home, isns = ill_home(tmp_path)
    clock = Clock()
    store = CatalogStore.of(home)
    service = IllService(store, config_of(home), clock)
    service.create_account("1001", "pw-1001", "H", name="Erika Mustermann", balance=10)
    yield home, isns, service, clock
    store.close()


def order(isn, **fields):
    return OrderRequest("1001", "pw-1001", isn, **fields)


def test_whole_life_of_an_order_across_three_libraries_in_two_regions(network):
    _, isns, service, clock = network
    placed = service.place_order(order(isns["BOOK"], via="test"))
    assert (placed.balance_before, placed.balance_after) == (10, 8)
    first = placed.order
    assert first.number.startswith("GBV") and first.isbd.startswith("Müller, Anna: Die Fernleihe")
    assert (first.status, first.supplier) == (Status.REQUEST_RECEIVED, "N1")       # own region first
    refused = service.answer(first.number, "N1", supplied=False, reason="on loan")
    assert (refused.status, refused.supplier) == (Status.REQUEST_RECEIVED, "S1")   # preferred in the south
    clock.advance(3)
    assert service.process_deadlines() == []                                      # not due yet
    clock.advance(5)
    moved = service.process_deadlines()
    assert [o.supplier for o in moved] == ["S2"]                                   # S1 let the deadline pass
    assert moved[0].attempts[-1].call_number == "S2/9"                            # the lendable copy, not S2/R
    shipped = service.answer(first.number, "S2", supplied=True, reason="parcel 4711")
    assert shipped.status is Status.LOANED and shipped.shipped == "2026-12-09T09:00:00Z"
    assert [(a.library, a.answer) for a in shipped.attempts] == [("N1", "unfilled"), ("S1", "expired"),
                                                                  ("S2", "supplied")]
    assert shipped.reasons == ("N1: unfilled (on loan)", "S1: expired (no answer within 7 days)")
    assert [e.status for e in shipped.history][-1] is Status.LOANED and not shipped.left_network
    received = service.requester_action(first.number, Status.RECEIVED)
    assert received.status is Status.RECEIVED


def test_every_holder_refusing_returns_the_order_with_all_reasons(network):
    _, isns, service, clock = network
    number = service.place_order(order(isns["BOOK"])).order.number
    service.answer(number, "N1", supplied=False, reason="on loan")
    service.answer(number, "S1", supplied=False, reason="missing")
    back = service.answer(number, "S2", supplied=False, reason="damaged")
    assert back.status is Status.RETURNED and back.supplier == "" and back.left_network
    assert "S1: unfilled (missing)" in back.history[-1].note and "S2: unfilled (damaged)" in back.history[-1].note


def test_refusals_say_why(network):
    _, isns, service, _ = network
    with pytest.raises(IllRefused) as error:
        service.place_order(OrderRequest("1001", "wrong", isns["BOOK"]))
    assert error.value.reason is Refusal.BAD_CREDENTIALS
    with pytest.raises(IllRefused) as error:
        service.place_order(OrderRequest("9999", "pw-1001", isns["BOOK"]))
    assert error.value.reason is Refusal.BAD_CREDENTIALS
    with pytest.raises(IllRefused) as error:
        service.place_order(order(isns["LOCAL"]))
    assert error.value.reason is Refusal.HELD_LOCALLY and "H/1" in str(error.value)
    with pytest.raises(IllRefused) as error:
        service.place_order(order(isns["REF"]))
    assert error.value.reason is Refusal.NOT_LENDABLE and "N1: reference only" in str(error.value)
    with pytest.raises(IllRefused) as error:
        service.place_order(order(99999))
    assert error.value.reason is Refusal.UNKNOWN_RECORD
    with pytest.raises(IllRefused) as error:
        service.place_order(order(isns["NONE"]))
    assert error.value.reason is Refusal.NOT_LENDABLE and "free order" in str(error.value)
    assert service.account("1001").balance == 10                                  # nothing was charged


def test_articles_need_title_and_author_or_pages_and_are_checked_against_holdings(network):
    _, isns, service, _ = network
    with pytest.raises(IllRefused) as error:
        service.place_order(order(isns["JOURNAL"], article=Article(title="On loans", year="1995")))
    assert error.value.reason is Refusal.MISSING_DATA and "author or the pages" in str(error.value)
    with pytest.raises(IllRefused) as error:
        service.place_order(order(isns["JOURNAL"], article=Article(title="On loans", pages="1-9", year="2001")))
    assert error.value.reason is Refusal.NOT_IN_HOLDINGS and "1.1990 - 10.1999" in str(error.value)
    old = service.place_order(order(isns["JOURNAL"], article=Article(title="On loans", pages="1-9", year="1995")))
    assert (old.order.kind.value, old.order.supplier) == ("copy", "N1")
    new = service.place_order(order(isns["JOURNAL"], article=Article(title="Today", author="X", year="2010")))
    assert new.order.supplier == "S1"                                              # N1's holdings end 1999
    by_volume = service.place_order(order(isns["JOURNAL"], article=Article(title="V", pages="3", volume="4")))
    assert by_volume.order.supplier == "N1"


def test_free_order_goes_to_the_central_desk(network):
    _, isns, service, _ = network
    placed = service.place_order(order(isns["NONE"], free=True))
    assert placed.order.free and placed.order.status is Status.CENTRAL_DESK and placed.order.supplier == "ZFL"
    text = service.place_order(order(None, free=True, title_text="Smith: A rare pamphlet. - 1887"))
    assert text.order.isbd == "Smith: A rare pamphlet. - 1887" and text.order.isn is None
    assert [o.number for o in service.incoming("ZFL")] == [placed.order.number, text.order.number]
    back = service.answer(text.order.number, "ZFL", supplied=False, reason="not found abroad")
    assert back.status is Status.RETURNED
    with pytest.raises(IllRefused) as error:
        service.place_order(order(None, free=True))
    assert error.value.reason is Refusal.MISSING_DATA


def test_balance_and_quota_exhaustion(network):
    _, isns, service, _ = network
    for _ in range(5):
        service.place_order(order(isns["BOOK"]))
    with pytest.raises(IllRefused) as error:
        service.place_order(order(isns["BOOK"]))
    assert error.value.reason is Refusal.BALANCE and "balance is 0 units" in str(error.value)
    service.create_account("Q-1", "quota-pw", "H", quota=2)
    quota = [service.place_order(OrderRequest("Q-1", "quota-pw", isns["BOOK"])) for _ in range(2)]
    assert [p.quota_left for p in quota] == [1, 0] and quota[0].order.units == 0
    with pytest.raises(IllRefused) as error:
        service.place_order(OrderRequest("Q-1", "quota-pw", isns["BOOK"]))
    assert error.value.reason is Refusal.QUOTA and "used up" in str(error.value)
    assert service.credit("1001", 4).balance == 4
    assert service.set_quota("Q-1", None).quota is None


def test_load_limit_sends_orders_past_a_full_library(tmp_path):
    home, isns = ill_home(tmp_path, ILL_CONFIG.replace('name = "North One"', 'name = "North One"\nill_max_loans = 1'))
    store = CatalogStore.of(home)
    service = IllService(store, config_of(home), Clock())
    service.create_account("1001", "pw-1001", "H", balance=10)
    suppliers = [service.place_order(order(isns["BOOK"])).order.supplier for _ in range(2)]
    assert suppliers == ["N1", "S1"]          # N1 has its one open loan order: the next goes south
    store.close()


def test_supplier_answers_are_checked(network):
    _, isns, service, _ = network
    number = service.place_order(order(isns["BOOK"])).order.number
    with pytest.raises(IllRefused) as error:
        service.answer(number, "S1", supplied=True)
    assert error.value.reason is Refusal.NOT_SUPPLIER and "at N1" in str(error.value)
    with pytest.raises(IllRefused) as error:
        service.answer(number, "N1", supplied=False)
    assert error.value.reason is Refusal.MISSING_DATA
    with pytest.raises(IllRefused) as error:
        service.answer("GBV999999999", "N1", supplied=True)
    assert error.value.reason is Refusal.UNKNOWN_ORDER
    service.requester_action(number, Status.CANCELLED, "no longer needed")
    with pytest.raises(IllRefused) as error:
        service.answer(number, "N1", supplied=True)
    assert error.value.reason is Refusal.NOT_SUPPLIER or error.value.reason is Refusal.WRONG_STATE


def test_two_simultaneous_orders_the_balance_allows_once(network):
    """Two threads, each on its own store connection, order at once with units for one order."""
    home, isns, service, _ = network
    service.create_account("2002", "pw-2002", "H", balance=2)
    config = config_of(home)
    barrier = threading.Barrier(2)
    results: list[object] = [None, None]

    def place(slot: int) -> None:
        store = CatalogStore.of(home)
        try:
            mine = IllService(store, config)
            request = OrderRequest("2002", "pw-2002", isns["BOOK"])
            mine.authenticate("2002", "pw-2002")      # warm up: both reach the transaction together
            barrier.wait()
            try:
                results[slot] = mine.place_order(request)
            except IllRefused as refused:
                results[slot] = refused
        finally:
            store.close()

    threads = [threading.Thread(target=place, args=(slot,)) for slot in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    refused = [r for r in results if isinstance(r, IllRefused)]
    placed = [r for r in results if not isinstance(r, IllRefused)]
    assert len(placed) == 1 and len(refused) == 1, results
    assert refused[0].reason is Refusal.BALANCE
    assert service.account("2002").balance == 0 and len(service.orders_of("2002")) == 1


def _place_in_process(home_root: str, isn: int, start, queue) -> None:
    from index.home import Home
    home = Home(__import__("pathlib").Path(home_root))
    store = CatalogStore.of(home)
    service = IllService(store, home.config())
    service.authenticate("3003", "pw-3003")
    start.wait()
    try:
        queue.put(service.place_order(OrderRequest("3003", "pw-3003", isn)).order.number)
    except IllRefused as refused:
        queue.put(refused.reason.value)
    finally:
        store.close()


def test_two_processes_order_at_once_with_units_for_one(network):
    import multiprocessing
    home, isns, service, _ = network
    service.create_account("3003", "pw-3003", "H", balance=3)
    context = multiprocessing.get_context("fork")
    start, queue = context.Barrier(2), context.Queue()
    processes = [context.Process(target=_place_in_process, args=(str(home.root), isns["BOOK"], start, queue))
                 for _ in range(2)]
    for process in processes:
        process.start()
    answers = sorted([queue.get(timeout=60), queue.get(timeout=60)])
    for process in processes:
        process.join()
    assert answers[0].startswith("GBV") and answers[1] == "balance", answers
    assert service.account("3003").balance == 1


def test_a_copy_is_not_returned(network):
    # ISO 18626: ShippedReturn and LoanCompleted belong to a loan; a copy order had taken both
    _, isns, service, _ = network
    copy = service.place_order(order(isns["JOURNAL"], article=Article(title="On loans", pages="1-9", year="1995"))).order
    assert service.answer(copy.number, copy.supplier, supplied=True).status is Status.COPY_COMPLETED
    assert service.requester_action(copy.number, Status.RECEIVED).status is Status.RECEIVED
    for action in (Status.SHIPPED_RETURN, Status.LOAN_COMPLETED):
        with pytest.raises(IllRefused, match="is a copy") as refused:
            service.requester_action(copy.number, action)
        assert refused.value.reason is Refusal.WRONG_STATE
