"""The user service lists nothing, so it pages nothing: a list endpoint's pagination class
goes here (on common.http.pagination.CheckedCursorPagination, as the other services' do)."""
