// a template that never ends (test_template.c)
//% local n = 0
//% while true do n = n + 1 end
never ${n}
