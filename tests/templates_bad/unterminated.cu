// a template whose line 4 opens a substitution it never closes (test_template.c)
#define A ${v.a}
#define B ${v.b + (1}
#define C ${v.c
