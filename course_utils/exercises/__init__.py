"""Checkers for the exercises that ask for code: one module per lesson (``lesson01``, ``lesson02``, ...).

A checker takes the function you wrote, runs it on cases it builds itself, and compares the result with
a reference (centred differences for a gradient, the library for a layer, a direct count for a baseline).
It prints what it checked when your answer is right, and raises ``AssertionError`` saying what differs
when it is not. Worked solutions are in ``solutions/`` at the top of the repository; the tests run every
solution against its checker, and a wrong answer against it too, to show that the checker can fail.

    from course_utils.exercises.lesson01 import check_rnn_step_backward
    check_rnn_step_backward(my_rnn_step_backward)
"""
