"""Readable names of sessions and experiment runs: `adjective_adjective_adjective_noun`.

The one pair of word lists and the one function that draws from them, with
no word twice in a name; about 143*142*141 * 113 (over 300 million) session
names, so a fresh one is almost never taken.
"""

from __future__ import annotations

import random

ADJECTIVES = """
    able acid airy amber ample apt arid brave brief bright brisk broad calm
    candid civil clean clear close cold cool coral cozy crisp curly damp
    dark dear deep dense dry dull eager early easy even exact faint fair
    fast fierce fine firm flat fluffy fond free fresh frosty full funny
    gentle glad golden good grand great green handy happy hardy hasty hazy
    heavy hollow humble icy idle jolly keen kind large late lazy lean light
    lively long loud lucky lumpy mellow merry mild minty misty modest neat
    nimble noble odd olive orange plain plump polite proud quick quiet rapid
    rare ready roomy rosy round royal rusty safe salty sandy shiny short
    silent silky simple sleek slim smart smooth snowy soft solid spare spicy
    steady stout sunny sweet swift tall tame tidy tiny vague vast warm wavy
    wide wild windy wise witty young zesty
""".split()

NOUNS = """
    acorn anchor apple army arrow badge bagel basin beach bell berry birch
    bison blade bloom boat bridge brook cabin cactus camel candle canyon
    castle cedar chalk cherry cliff cloud clover comet cotton crane
    creek crown daisy delta desk dune eagle ember falcon fern field flame
    forest fox garden gate glacier grape harbor hawk hill horse island ivy
    jade kettle lake lamp law lemon lily lion maple marble meadow moon moss
    mountain nest oak ocean orchard otter owl panda pebble pepper pine
    planet pond quail rabbit raven reef river robin rock rose sail salmon
    shell sparrow spring spruce star stone storm stream sun swan thistle
    tiger tulip valley violet walnut whale willow wind wolf
""".split()


def random_phrase(rng: random.Random | None = None, adjectives: int = 3) -> str:
    """A random phrase of distinct adjectives and a noun, e.g. `lumpy_roomy_vague_army`.

    Sessions use three adjectives, experiment runs two (`quick_brown_law`).
    """
    rng = rng or random.SystemRandom()
    return "_".join([*rng.sample(ADJECTIVES, adjectives), rng.choice(NOUNS)])
