"""Correct solutions of the coding tasks shipped in `tasks/`, for the tests that run them."""

FIZZBUZZ = """n = int(input())
for i in range(1, n + 1):
    print("FizzBuzz" if i % 15 == 0 else "Fizz" if i % 3 == 0 else "Buzz" if i % 5 == 0 else i)
"""

TWO_SUM = """def two_sum(nums, target):
    seen = {}
    for i, n in enumerate(nums):
        if target - n in seen:
            return [seen[target - n], i]
        seen[n] = i
"""

TODO_API = """TODOS = []

@endpoint("/todos", method="POST")
def add(body):
    todo = {"id": len(TODOS) + 1, "title": body["title"], "done": False}
    TODOS.append(todo)
    return todo, 201

@endpoint("/todos")
def everything():
    return TODOS

@endpoint("/health")
def health():
    return {"ok": True}
"""
